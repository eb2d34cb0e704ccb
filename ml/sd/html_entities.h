// HTML character references, decoded the two ways CLIP's text clean-up
// decodes them: Python's html.unescape (run twice on every prompt) and ftfy's
// stricter pass (only complete `&name;` / `&#num;` forms).
//
// Names known: the 252 HTML 4 entities, `apos`, and the upper-case spellings
// HTML5 allows (AMP, COPY, GT, LT, QUOT, REG); the 106 legacy names also
// decode without their semicolon, as HTML5 says. The rest of HTML5's 2,231
// names (`&NotNestedLessLess;`...) stay as text: prompts do not carry them.
// Numeric references follow HTML5 exactly (C1 range read as Windows-1252,
// surrogates and out-of-range numbers to U+FFFD, noncharacters removed).
#pragma once
#include <string>
#include <string_view>

namespace atelier::ml::sd {

// Python's html.unescape on UTF-8 text.
std::string html_unescape(std::string_view text);
// ftfy's unescape_html: `&#?[0-9A-Za-z]{1,24};` matches only, left as they
// are unless they decode completely.
std::string html_unescape_complete_only(std::string_view text);

}  // namespace atelier::ml::sd
