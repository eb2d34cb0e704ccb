// The text clean-up CLIP's tokenizer applies before splitting a prompt into
// pieces (step 1 of the rules in the CLIP tokenizer reference): ftfy's
// fix_text with its defaults, Python's html.unescape twice, whitespace runs to
// one space, trimmed, then full Unicode lower-casing.
//
// ftfy is reproduced for what prompts meet, in ftfy's order and repeated until
// nothing changes, line by line (entities are left alone from the first line
// holding a '<' on):
//   - HTML references, complete `&...;` forms only (html_entities.h);
//   - mojibake: UTF-8 that was read as Windows-1252/Latin-1, when the whole
//     sequence is there and starts with Â or Ã (U+0080-U+00FF: accented
//     letters, °, ©...) or â (U+2000-U+2FFF: curly quotes, dashes, €, ™...);
//   - C1 controls read as Windows-1252, Latin ligatures split, fullwidth and
//     halfwidth forms (and U+3000) to their normal forms, curly quotes
//     straightened, line breaks to LF, ANSI terminal escapes removed, control
//     characters other than tab/LF/FF/CR removed (with U+206A-206F, BOM and
//     U+FFF9-FFFC), NFC.
// Not reproduced: ftfy's general mojibake detector (other leads, other code
// pages such as MacRoman or cp437, sequences with a byte lost, its "badness"
// heuristic), its upper-cased entity names (`&EACUTE;`), and its surrogate
// repair (UTF-8 input has no surrogates). Text with those stays as written.
//
// Invariant: the result holds no whitespace other than single U+0020 spaces
// between non-space characters.
#pragma once
#include <string>
#include <string_view>

namespace atelier::ml::sd {

// Python's str.isspace(): what open_clip's split() and the prompt syntax's
// `\s` treat as whitespace.
bool is_python_space(char32_t c);

// ftfy.fix_text's default fixes, as far as listed above.
std::string fix_text(std::string_view text);

// The whole step: fix_text, html.unescape twice, whitespace, lower-case.
std::string clip_clean_text(std::string_view text);

}  // namespace atelier::ml::sd
