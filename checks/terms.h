// The `terms` rules of the check kind: a configurable list of words and phrases looked
// for in prompts and captions, whole words only, case-insensitive, in any script.
//
// How text is compared (both the rule's term and the text go through the same steps):
// - UTF-8 is decoded to code points. An invalid byte in the text is one code point that
//   is neither a letter nor a space and equals nothing in a term; a term that is not
//   valid UTF-8 is refused by parse_term_rules.
// - Full-width ASCII forms (U+FF01..FF5E) become ASCII and the ideographic space U+3000
//   a space, since Chinese and Japanese text mixes them freely with ASCII.
// - Case folding is Unicode simple case folding for the Basic Multilingual Plane (Latin,
//   Greek, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic...), from a table
//   built into terms.cpp (ICU is not a dependency of Atelier). It is one code point to
//   one: "ß" does not match "ss", and the Greek final sigma matches sigma.
// - No Unicode normalisation: "café" with a precomposed é does not match "cafe" followed
//   by a combining accent. Typed text is almost always precomposed (NFC). Accents are
//   significant: "café" does not match "cafe".
// - A run of whitespace inside a term matches any run of one or more whitespace code
//   points in the text ("Mickey Mouse" matches "mickey \n MOUSE", not "MickeyMouse").
//   Leading and trailing whitespace of a term is ignored.
//
// Whole words. A word character is a letter, digit, combining mark or underscore; the
// test is by blocks (is_word_char): ASCII letters, digits and underscore, and any other
// code point outside the listed punctuation, symbol, space and emoji blocks. The check
// is made at each end of the term separately:
// - If the term's end character is a word character of a script written with spaces
//   (Latin, Greek, Cyrillic, digits...), the text character beside the match must not
//   be a word character of such a script. So "nike" does not match "nikes" or "Nike2",
//   but matches "Nike's", "(nike)", "#nike" and "Nike耐克": a Han character beside a
//   Latin one is a boundary.
// - If the term's end character belongs to a script written without spaces between
//   words (is_unspaced_script: Han, Hiragana, Katakana, Hangul, Bopomofo, Yi, Thai, Lao,
//   Khmer, Myanmar), there is no word boundary to find, so there is no check at that
//   end: "迪士尼" matches in "我爱迪士尼乐园".
// - If the term's end character is not a word character ("#ad", "C++"), there is no
//   check at that end.
//
// What a Chinese rule does not match: the characters in another order or with a space
// or punctuation between them ("迪 士尼" for "迪士尼"), traditional forms for simplified
// ones ("華納" does not match "华纳"), and a match inside an "allow" phrase. Because
// there are no word boundaries, a short Chinese term matches inside every longer word
// that contains it ("士" matches in "护士", nurse, and in "迪士尼"). A rule with verdict
// "allow" says that such a longer word is fine: a hit of another rule that lies wholly
// inside a match of an allow rule is dropped, and allow rules make no hits of their own.
//
// Hits of one rule do not overlap (leftmost first, as a regex search does); hits of
// different rules may. Hits are ordered by offset, then by rule order.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::checks {

struct TermRule {
  std::string term;
  std::string verdict = "fail";  // "warn", "fail" or "allow"
  std::string reason;
};

// Parses rules from JSON: a list whose items are a string (verdict "fail") or an object
// {term, verdict?, reason?}. Throws std::invalid_argument naming the item index and
// field, e.g. `terms[2].verdict: expected "warn", "fail" or "allow", got "block"`.
// Unknown fields are errors (a typo would otherwise drop a rule's intent silently); a
// term must be valid UTF-8 with at least one non-space character.
std::vector<TermRule> parse_term_rules(const nlohmann::json& rules);

struct TermHit {
  std::string term, verdict, reason, field;
  size_t offset = 0;  // byte offset of the match in the text
  size_t length = 0;  // bytes of the match
  std::string match;  // the matched text as written
};

// Rules compiled once, for matching many texts.
class TermMatcher {
 public:
  explicit TermMatcher(std::vector<TermRule> rules);
  // field: the caller's label for the text ("prompt", "caption", ...).
  std::vector<TermHit> find(std::string_view text, std::string_view field) const;
  const std::vector<TermRule>& rules() const { return rules_; }

 private:
  std::vector<TermRule> rules_;
  std::vector<std::u32string> patterns_;  // folded; kSpaceRun marks a whitespace run
};

std::vector<TermHit> find_terms(const std::vector<TermRule>& rules, std::string_view text,
                                std::string_view field);

// The character classes above, exposed for tests and for other checks.
char32_t fold_case(char32_t c);  // simple case folding, width folding first
bool is_word_char(char32_t c);
bool is_unspaced_script(char32_t c);
bool is_space(char32_t c);  // Unicode White_Space

}  // namespace atelier::checks
