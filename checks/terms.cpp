// Term rules: UTF-8 decoding, folding, character classes and the matcher; see terms.h.
// Invariant: every code point index used while matching maps back to the byte offset
// where that code point starts in the caller's text, so hits point into the original.
#include "checks/terms.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace atelier::checks {

namespace {

// Stands for a byte that is not valid UTF-8: equal to nothing a term can hold.
constexpr char32_t kInvalid = 0xFFFFFFFF;
// In a compiled pattern: one or more whitespace code points.
constexpr char32_t kSpaceRun = 0xFFFFFFFE;

struct Decoded {
  std::u32string cps;        // folded
  std::vector<size_t> offs;  // byte offset of each code point, plus the end
};

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF); one invalid byte
// becomes one kInvalid code point so decoding never stops or skips valid text after it.
Decoded decode(std::string_view s, bool* valid = nullptr) {
  Decoded d;
  d.cps.reserve(s.size());
  d.offs.reserve(s.size() + 1);
  if (valid) *valid = true;
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    char32_t cp = 0, min = 0;
    if (b0 < 0x80) {
      len = 1, cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    d.offs.push_back(i);
    if (ok) {
      d.cps.push_back(fold_case(cp));
      i += len;
    } else {
      d.cps.push_back(kInvalid);
      if (valid) *valid = false;
      i += 1;
    }
  }
  d.offs.push_back(s.size());
  return d;
}

// Generated from Unicode 14 (Python 3.11's str.casefold): every BMP code point whose
// full case folding is one other code point, plus the simple foldings CaseFolding.txt
// gives where the full one is longer (U+1E9E and the Greek capitals with iota
// subscript). Each entry: first code point, count, delta to add, stride between them.
struct FoldRun {
  char32_t first;
  int count, delta, stride;
};
constexpr FoldRun kFoldRuns[] = {
    {0x00B5, 1, 775, 1},    {0x00C0, 23, 32, 1},     {0x00D8, 7, 32, 1},     {0x0100, 24, 1, 2},
    {0x0132, 3, 1, 2},      {0x0139, 8, 1, 2},       {0x014A, 23, 1, 2},     {0x0178, 1, -121, 1},
    {0x0179, 3, 1, 2},      {0x017F, 1, -268, 1},    {0x0181, 1, 210, 1},    {0x0182, 2, 1, 2},
    {0x0186, 1, 206, 1},    {0x0187, 1, 1, 1},       {0x0189, 2, 205, 1},    {0x018B, 1, 1, 1},
    {0x018E, 1, 79, 1},     {0x018F, 1, 202, 1},     {0x0190, 1, 203, 1},    {0x0191, 1, 1, 1},
    {0x0193, 1, 205, 1},    {0x0194, 1, 207, 1},     {0x0196, 1, 211, 1},    {0x0197, 1, 209, 1},
    {0x0198, 1, 1, 1},      {0x019C, 1, 211, 1},     {0x019D, 1, 213, 1},    {0x019F, 1, 214, 1},
    {0x01A0, 3, 1, 2},      {0x01A6, 1, 218, 1},     {0x01A7, 1, 1, 1},      {0x01A9, 1, 218, 1},
    {0x01AC, 1, 1, 1},      {0x01AE, 1, 218, 1},     {0x01AF, 1, 1, 1},      {0x01B1, 2, 217, 1},
    {0x01B3, 2, 1, 2},      {0x01B7, 1, 219, 1},     {0x01B8, 1, 1, 1},      {0x01BC, 1, 1, 1},
    {0x01C4, 1, 2, 1},      {0x01C5, 1, 1, 1},       {0x01C7, 1, 2, 1},      {0x01C8, 1, 1, 1},
    {0x01CA, 1, 2, 1},      {0x01CB, 9, 1, 2},       {0x01DE, 9, 1, 2},      {0x01F1, 1, 2, 1},
    {0x01F2, 2, 1, 2},      {0x01F6, 1, -97, 1},     {0x01F7, 1, -56, 1},    {0x01F8, 20, 1, 2},
    {0x0220, 1, -130, 1},   {0x0222, 9, 1, 2},       {0x023A, 1, 10795, 1},  {0x023B, 1, 1, 1},
    {0x023D, 1, -163, 1},   {0x023E, 1, 10792, 1},   {0x0241, 1, 1, 1},      {0x0243, 1, -195, 1},
    {0x0244, 1, 69, 1},     {0x0245, 1, 71, 1},      {0x0246, 5, 1, 2},      {0x0345, 1, 116, 1},
    {0x0370, 2, 1, 2},      {0x0376, 1, 1, 1},       {0x037F, 1, 116, 1},    {0x0386, 1, 38, 1},
    {0x0388, 3, 37, 1},     {0x038C, 1, 64, 1},      {0x038E, 2, 63, 1},     {0x0391, 17, 32, 1},
    {0x03A3, 9, 32, 1},     {0x03C2, 1, 1, 1},       {0x03CF, 1, 8, 1},      {0x03D0, 1, -30, 1},
    {0x03D1, 1, -25, 1},    {0x03D5, 1, -15, 1},     {0x03D6, 1, -22, 1},    {0x03D8, 12, 1, 2},
    {0x03F0, 1, -54, 1},    {0x03F1, 1, -48, 1},     {0x03F4, 1, -60, 1},    {0x03F5, 1, -64, 1},
    {0x03F7, 1, 1, 1},      {0x03F9, 1, -7, 1},      {0x03FA, 1, 1, 1},      {0x03FD, 3, -130, 1},
    {0x0400, 16, 80, 1},    {0x0410, 32, 32, 1},     {0x0460, 17, 1, 2},     {0x048A, 27, 1, 2},
    {0x04C0, 1, 15, 1},     {0x04C1, 7, 1, 2},       {0x04D0, 48, 1, 2},     {0x0531, 38, 48, 1},
    {0x10A0, 38, 7264, 1},  {0x10C7, 1, 7264, 1},    {0x10CD, 1, 7264, 1},   {0x13F8, 6, -8, 1},
    {0x1C80, 1, -6222, 1},  {0x1C81, 1, -6221, 1},   {0x1C82, 1, -6212, 1},  {0x1C83, 2, -6210, 1},
    {0x1C85, 1, -6211, 1},  {0x1C86, 1, -6204, 1},   {0x1C87, 1, -6180, 1},  {0x1C88, 1, 35267, 1},
    {0x1C90, 43, -3008, 1}, {0x1CBD, 3, -3008, 1},   {0x1E00, 75, 1, 2},     {0x1E9B, 1, -58, 1},
    {0x1E9E, 1, -7615, 1},  {0x1EA0, 48, 1, 2},      {0x1F08, 8, -8, 1},     {0x1F18, 6, -8, 1},
    {0x1F28, 8, -8, 1},     {0x1F38, 8, -8, 1},      {0x1F48, 6, -8, 1},     {0x1F59, 4, -8, 2},
    {0x1F68, 8, -8, 1},     {0x1F88, 8, -8, 1},      {0x1F98, 8, -8, 1},     {0x1FA8, 8, -8, 1},
    {0x1FB8, 2, -8, 1},     {0x1FBA, 2, -74, 1},     {0x1FBC, 1, -9, 1},     {0x1FBE, 1, -7173, 1},
    {0x1FC8, 4, -86, 1},    {0x1FCC, 1, -9, 1},      {0x1FD8, 2, -8, 1},     {0x1FDA, 2, -100, 1},
    {0x1FE8, 2, -8, 1},     {0x1FEA, 2, -112, 1},    {0x1FEC, 1, -7, 1},     {0x1FF8, 2, -128, 1},
    {0x1FFA, 2, -126, 1},   {0x1FFC, 1, -9, 1},      {0x2126, 1, -7517, 1},  {0x212A, 1, -8383, 1},
    {0x212B, 1, -8262, 1},  {0x2132, 1, 28, 1},      {0x2160, 16, 16, 1},    {0x2183, 1, 1, 1},
    {0x24B6, 26, 26, 1},    {0x2C00, 48, 48, 1},     {0x2C60, 1, 1, 1},      {0x2C62, 1, -10743, 1},
    {0x2C63, 1, -3814, 1},  {0x2C64, 1, -10727, 1},  {0x2C67, 3, 1, 2},      {0x2C6D, 1, -10780, 1},
    {0x2C6E, 1, -10749, 1}, {0x2C6F, 1, -10783, 1},  {0x2C70, 1, -10782, 1}, {0x2C72, 1, 1, 1},
    {0x2C75, 1, 1, 1},      {0x2C7E, 2, -10815, 1},  {0x2C80, 50, 1, 2},     {0x2CEB, 2, 1, 2},
    {0x2CF2, 1, 1, 1},      {0xA640, 23, 1, 2},      {0xA680, 14, 1, 2},     {0xA722, 7, 1, 2},
    {0xA732, 31, 1, 2},     {0xA779, 2, 1, 2},       {0xA77D, 1, -35332, 1}, {0xA77E, 5, 1, 2},
    {0xA78B, 1, 1, 1},      {0xA78D, 1, -42280, 1},  {0xA790, 2, 1, 2},      {0xA796, 10, 1, 2},
    {0xA7AA, 1, -42308, 1}, {0xA7AB, 1, -42319, 1},  {0xA7AC, 1, -42315, 1}, {0xA7AD, 1, -42305, 1},
    {0xA7AE, 1, -42308, 1}, {0xA7B0, 1, -42258, 1},  {0xA7B1, 1, -42282, 1}, {0xA7B2, 1, -42261, 1},
    {0xA7B3, 1, 928, 1},    {0xA7B4, 8, 1, 2},       {0xA7C4, 1, -48, 1},    {0xA7C5, 1, -42307, 1},
    {0xA7C6, 1, -35384, 1}, {0xA7C7, 2, 1, 2},       {0xA7D0, 1, 1, 1},      {0xA7D6, 2, 1, 2},
    {0xA7F5, 1, 1, 1},      {0xAB70, 80, -38864, 1}, {0xFF21, 26, 32, 1},
};

bool in(char32_t c, char32_t lo, char32_t hi) {
  return c >= lo && c <= hi;
}

}  // namespace

char32_t fold_case(char32_t c) {
  if (c == 0x3000) return U' ';
  if (in(c, 0xFF01, 0xFF5E)) c -= 0xFEE0;
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c > 0xFFFF) return c;
  // The last run starting at or before c.
  const auto* it = std::upper_bound(std::begin(kFoldRuns), std::end(kFoldRuns), c,
                                    [](char32_t v, const FoldRun& r) { return v < r.first; });
  if (it == std::begin(kFoldRuns)) return c;
  const FoldRun& r = *std::prev(it);
  const char32_t span = static_cast<char32_t>((r.count - 1) * r.stride);
  if (c > r.first + span || (c - r.first) % static_cast<char32_t>(r.stride) != 0) return c;
  return static_cast<char32_t>(static_cast<int>(c) + r.delta);
}

bool is_space(char32_t c) {
  return in(c, 0x09, 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         in(c, 0x2000, 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_word_char(char32_t c) {
  if (c < 0x80)
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  if (c > 0x10FFFF) return false;  // kInvalid, kSpaceRun
  // Punctuation, symbols, spaces, controls and emoji, by block. Everything else that is
  // not ASCII counts as a letter: a rare symbol then blocks a match instead of making a
  // false one.
  static constexpr char32_t kNonWord[][2] = {
      {0x0080, 0x00A9},   {0x00AB, 0x00B4},   {0x00B6, 0x00B9},    {0x00BB, 0x00BF},
      {0x00D7, 0x00D7},   {0x00F7, 0x00F7},   {0x037E, 0x037E},    {0x0387, 0x0387},
      {0x055A, 0x055F},   {0x0589, 0x058A},   {0x05BE, 0x05BE},    {0x05C0, 0x05C0},
      {0x05C3, 0x05C3},   {0x05C6, 0x05C6},   {0x05F3, 0x05F4},    {0x0600, 0x060F},
      {0x061B, 0x061F},   {0x066A, 0x066D},   {0x06D4, 0x06D4},    {0x0964, 0x0965},
      {0x0E3F, 0x0E3F},   {0x0E4F, 0x0E4F},   {0x0E5A, 0x0E5B},    {0x104A, 0x104F},
      {0x10FB, 0x10FB},   {0x1360, 0x1368},   {0x166D, 0x166E},    {0x1680, 0x1680},
      {0x17D4, 0x17DA},   {0x1800, 0x180A},   {0x2000, 0x206F},    {0x20A0, 0x20CF},
      {0x2100, 0x214F},   {0x2190, 0x2BFF},   {0x2E00, 0x2E7F},    {0x3000, 0x3004},
      {0x3008, 0x3020},   {0x3030, 0x3030},   {0x303D, 0x303F},    {0x30A0, 0x30A0},
      {0x30FB, 0x30FB},   {0xD800, 0xF8FF},   {0xFD3E, 0xFD3F},    {0xFE00, 0xFE19},
      {0xFE30, 0xFE6F},   {0xFEFF, 0xFEFF},   {0xFF01, 0xFF0F},    {0xFF1A, 0xFF20},
      {0xFF3B, 0xFF3E},   {0xFF40, 0xFF40},   {0xFF5B, 0xFF65},    {0xFFE0, 0xFFFF},
      {0x1F000, 0x1FAFF}, {0xE0000, 0xE007F}, {0xF0000, 0x10FFFF},
  };
  for (const auto& r : kNonWord)
    if (in(c, r[0], r[1])) return false;
  return true;
}

bool is_unspaced_script(char32_t c) {
  static constexpr char32_t kUnspaced[][2] = {
      {0x0E00, 0x0EFF},   {0x1000, 0x109F}, {0x1100, 0x11FF}, {0x1780, 0x17FF}, {0x2E80, 0x2FDF},
      {0x3005, 0x3007},   {0x3021, 0x3029}, {0x3031, 0x303C}, {0x3040, 0x30FF}, {0x3100, 0x312F},
      {0x3130, 0x318F},   {0x31A0, 0x31BF}, {0x31F0, 0x31FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
      {0xA000, 0xA4CF},   {0xA960, 0xA97F}, {0xAC00, 0xD7FF}, {0xF900, 0xFAFF}, {0xFF66, 0xFFDC},
      {0x20000, 0x3FFFF},
  };
  if (!is_word_char(c)) return false;
  for (const auto& r : kUnspaced)
    if (in(c, r[0], r[1])) return true;
  return false;
}

std::vector<TermRule> parse_term_rules(const nlohmann::json& rules) {
  if (!rules.is_array())
    throw std::invalid_argument(
        "terms: expected a list of rules (strings or {term, verdict, "
        "reason}), got " +
        std::string(rules.type_name()));
  std::vector<TermRule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& item = rules[i];
    const std::string where = "terms[" + std::to_string(i) + "]";
    TermRule rule;
    if (item.is_string()) {
      rule.term = item.get<std::string>();
    } else if (item.is_object()) {
      for (const auto& [key, value] : item.items()) {
        if (key != "term" && key != "verdict" && key != "reason")
          throw std::invalid_argument(where + "." + key +
                                      ": unknown field (expected term, verdict, reason)");
        if (!value.is_string())
          throw std::invalid_argument(where + "." + key + ": expected a string, got " +
                                      std::string(value.type_name()));
      }
      if (!item.contains("term")) throw std::invalid_argument(where + ".term: missing");
      rule.term = item["term"].get<std::string>();
      if (item.contains("verdict")) rule.verdict = item["verdict"].get<std::string>();
      if (item.contains("reason")) rule.reason = item["reason"].get<std::string>();
      if (rule.verdict != "warn" && rule.verdict != "fail" && rule.verdict != "allow")
        throw std::invalid_argument(where +
                                    ".verdict: expected \"warn\", \"fail\" or \"allow\", got \"" +
                                    rule.verdict + "\"");
    } else {
      throw std::invalid_argument(where + ": expected a string or an object, got " +
                                  std::string(item.type_name()));
    }
    bool valid = true;
    const Decoded d = decode(rule.term, &valid);
    if (!valid) throw std::invalid_argument(where + ".term: not valid UTF-8");
    if (std::all_of(d.cps.begin(), d.cps.end(), is_space))
      throw std::invalid_argument(where + ".term: empty");
    out.push_back(std::move(rule));
  }
  return out;
}

TermMatcher::TermMatcher(std::vector<TermRule> rules) : rules_(std::move(rules)) {
  for (const auto& r : rules_) {
    std::u32string p;
    for (const char32_t c : decode(r.term).cps) {
      if (is_space(c)) {
        if (!p.empty() && p.back() != kSpaceRun) p.push_back(kSpaceRun);
      } else {
        p.push_back(c);
      }
    }
    if (!p.empty() && p.back() == kSpaceRun) p.pop_back();
    patterns_.push_back(std::move(p));
  }
}

std::vector<TermHit> TermMatcher::find(std::string_view text, std::string_view field) const {
  const Decoded d = decode(text);
  const std::u32string& t = d.cps;
  const size_t n = t.size();

  // Is the end of the term, `end_char`, at a word boundary given its neighbour in the
  // text (absent at the text's ends)?
  auto boundary = [&](char32_t end_char, size_t neighbour, bool has_neighbour) {
    if (!is_word_char(end_char) || is_unspaced_script(end_char) || !has_neighbour) return true;
    const char32_t c = t[neighbour];
    return !is_word_char(c) || is_unspaced_script(c);
  };

  struct Span {
    size_t begin, end, rule;
  };
  std::vector<Span> hits, allowed;
  for (size_t r = 0; r < patterns_.size(); ++r) {
    const std::u32string& p = patterns_[r];
    if (p.empty()) continue;  // parse_term_rules refuses these; a hand-made rule matches nothing
    size_t i = 0;
    while (i < n) {
      size_t j = i, k = 0;
      while (k < p.size()) {
        if (p[k] == kSpaceRun) {
          if (j >= n || !is_space(t[j])) break;
          while (j < n && is_space(t[j])) ++j;
        } else {
          if (j >= n || t[j] != p[k]) break;
          ++j;
        }
        ++k;
      }
      if (k == p.size() && boundary(p.front(), i - 1, i > 0) && boundary(p.back(), j, j < n)) {
        (rules_[r].verdict == "allow" ? allowed : hits).push_back({i, j, r});
        i = j;
      } else {
        ++i;
      }
    }
  }
  std::erase_if(hits, [&](const Span& h) {
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const Span& a) { return a.begin <= h.begin && h.end <= a.end; });
  });
  std::sort(hits.begin(), hits.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.rule < b.rule;
  });
  std::vector<TermHit> out;
  out.reserve(hits.size());
  for (const Span& h : hits) {
    const TermRule& rule = rules_[h.rule];
    const size_t off = d.offs[h.begin], len = d.offs[h.end] - off;
    out.push_back({rule.term, rule.verdict, rule.reason, std::string(field), off, len,
                   std::string(text.substr(off, len))});
  }
  return out;
}

std::vector<TermHit> find_terms(const std::vector<TermRule>& rules, std::string_view text,
                                std::string_view field) {
  return TermMatcher(rules).find(text, field);
}

}  // namespace atelier::checks
