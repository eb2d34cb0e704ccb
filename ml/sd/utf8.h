// UTF-8 <-> code points for the text side of Stable Diffusion (tokenizer,
// prompt syntax), which works on code points because its rules (Unicode
// letter/number classes, Python string slicing) are stated in code points.
//
// Invariant: decoding never fails; each ill-formed byte sequence becomes one
// U+FFFD, as a UTF-8 reader that substitutes does (so a prompt with a stray
// Latin-1 byte still tokenizes).
#pragma once
#include <string>
#include <string_view>

namespace atelier::ml::sd {

std::u32string utf8_to_code_points(std::string_view text);
std::string code_points_to_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t c);

}  // namespace atelier::ml::sd
