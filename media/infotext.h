// AUTOMATIC1111 "parameters" infotext: the text stable-diffusion-webui stores
// in a PNG text chunk and shows under an image:
//
//   prompt (may span lines)
//   Negative prompt: negative (may span lines; the line is left out when empty)
//   Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 32x32, Model: name
//
// Parsing follows modules/infotext_utils.py parse_generation_parameters: the
// last line holds the parameters if the pattern
//   \s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)
// matches it at least 3 times (searching, so text between matches is skipped),
// otherwise it belongs to the prompt; every other line is stripped; lines up to
// the first one starting "Negative prompt:" form the prompt, the rest the
// negative prompt (that prefix removed wherever it starts a line). Quoted values
// are JSON strings and are unquoted; an empty value is dropped and a repeated
// key keeps its first position with the last value, as in A1111's dict. Unlike
// A1111 we neither split "Size" into two fields nor add defaults for missing
// keys. The pattern is run by a hand-written linear scanner (no std::regex, so
// no deep recursion on long untrusted lines); \w and \s are taken as in Python
// for ASCII (whitespace is " \t\n\v\f\r" and U+001C..U+001F), every byte
// >= 0x80 counts as a word character, and whitespace beyond ASCII is not
// stripped.
//
// Formatting mirrors create_infotext: "key: value" pairs joined by ", ", a value
// JSON-quoted (non-ASCII kept raw) when it holds a comma, colon, quote or
// newline, or is empty, or starts or ends with whitespace; so parse(format(x))
// gives x back whenever x has at least 3 parameters with distinct keys and its
// prompts have no line with surrounding whitespace or starting
// "Negative prompt:".
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atelier::media {

struct Infotext {
  std::string prompt;
  std::string negative_prompt;
  // In order of appearance: Steps, Sampler, CFG scale, Seed, Size, Model hash, Model, ...
  std::vector<std::pair<std::string, std::string>> params;

  // The value of the first parameter named `key`.
  std::optional<std::string> get(std::string_view key) const;
};

// Throws std::invalid_argument for a parameter key the parser could not read
// back: it must start with a word character and hold only word characters,
// spaces, '-' and '/', at least two characters in all.
std::string format_infotext(const Infotext& info);

// Never throws on any input (apart from std::bad_alloc).
Infotext parse_infotext(std::string_view text);

}  // namespace atelier::media
