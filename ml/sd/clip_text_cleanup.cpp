// CLIP's text clean-up (see clip_text_cleanup.h for what of ftfy is done).
// ftfy's fixes run on code points; HTML references on UTF-8; NFC, NFKC (for
// the width map) and lower-casing come from ICU.
#include "ml/sd/clip_text_cleanup.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <stdexcept>
#include <unordered_map>

#include "ml/sd/html_entities.h"
#include "ml/sd/utf8.h"

namespace atelier::ml::sd {
namespace {

// Windows-1252 bytes 0x80-0x9F; the five it leaves undefined decode as Latin-1
// (ftfy's "sloppy" variant).
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// The byte a character would have been if the text was UTF-8 decoded as
// Windows-1252 or Latin-1, for UTF-8 continuation bytes only (-1: none).
int continuation_byte(char32_t c) {
  if (c >= 0x80 && c <= 0xBF) return static_cast<int>(c);  // Latin-1 reading
  for (int i = 0; i < 32; ++i) {
    if (kCp1252High[i] == c) return 0x80 + i;
  }
  return -1;
}

// UTF-8 read as Windows-1252 (see the header for which leads are trusted).
bool fix_mojibake(std::u32string& s) {
  bool changed = false;
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t c = s[i];
    int more = (c == 0xC2 || c == 0xC3) ? 1 : c == 0xE2 ? 2 : 0;
    if (more && i + more < s.size()) {
      char32_t decoded = c == 0xE2 ? 0x2 : (c & 0x1F);
      bool ok = true;
      for (int k = 1; k <= more && ok; ++k) {
        int b = continuation_byte(s[i + k]);
        ok = b >= 0;
        decoded = (decoded << 6) | static_cast<char32_t>(b & 0x3F);
      }
      if (ok) {
        out.push_back(decoded);
        i += 1 + more;
        changed = true;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  if (changed) s.swap(out);
  return changed;
}

const char32_t* ligature(char32_t c) {
  switch (c) {
    case 0x0132:
      return U"IJ";
    case 0x0133:
      return U"ij";
    case 0x0149:
      return U"\u02BCn";
    case 0x01F1:
      return U"DZ";
    case 0x01F2:
      return U"Dz";
    case 0x01F3:
      return U"dz";
    case 0x01C4:
      return U"D\u017D";
    case 0x01C5:
      return U"D\u017E";
    case 0x01C6:
      return U"d\u017E";
    case 0x01C7:
      return U"LJ";
    case 0x01C8:
      return U"Lj";
    case 0x01C9:
      return U"lj";
    case 0x01CA:
      return U"NJ";
    case 0x01CB:
      return U"Nj";
    case 0x01CC:
      return U"nj";
    case 0xFB00:
      return U"ff";
    case 0xFB01:
      return U"fi";
    case 0xFB02:
      return U"fl";
    case 0xFB03:
      return U"ffi";
    case 0xFB04:
      return U"ffl";
    case 0xFB05:
      return U"\u017Ft";
    case 0xFB06:
      return U"st";
    default:
      return nullptr;
  }
}

std::u32string icu_to_u32(const icu::UnicodeString& s) {
  std::u32string out;
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

icu::UnicodeString u32_to_icu(std::u32string_view s) {
  icu::UnicodeString out;
  for (char32_t c : s) out.append(static_cast<UChar32>(c));
  return out;
}

const icu::Normalizer2& normalizer(bool compatibility) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = compatibility ? icu::Normalizer2::getNFKCInstance(status)
                                            : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || !n) {
    throw std::runtime_error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
  }
  return *n;
}

// Fullwidth and halfwidth forms (U+FF01-U+FFEF) to what NFKC makes of them,
// and the ideographic space to a space.
const std::unordered_map<char32_t, std::u32string>& width_map() {
  static const auto map = [] {
    std::unordered_map<char32_t, std::u32string> m{{0x3000, U" "}};
    const icu::Normalizer2& nfkc = normalizer(true);
    for (char32_t c = 0xFF01; c < 0xFFF0; ++c) {
      UErrorCode status = U_ZERO_ERROR;
      icu::UnicodeString one(static_cast<UChar32>(c));
      icu::UnicodeString alt = nfkc.normalize(one, status);
      if (U_SUCCESS(status) && alt != one) m.emplace(c, icu_to_u32(alt));
    }
    return m;
  }();
  return map;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// ESC '[' (digits | ';')* letter: a terminal colour or cursor command.
size_t terminal_escape_length(const std::u32string& s, size_t i) {
  if (s[i] != 0x1B || i + 1 >= s.size() || s[i + 1] != U'[') return 0;
  size_t j = i + 2;
  while (j < s.size() &&
         (s[j] == U';' || u_charType(static_cast<UChar32>(s[j])) == U_DECIMAL_DIGIT_NUMBER)) {
    ++j;
  }
  if (j < s.size() && ((s[j] >= U'a' && s[j] <= U'z') || (s[j] >= U'A' && s[j] <= U'Z'))) {
    return j + 1 - i;
  }
  return 0;
}

// The per-character fixes after mojibake, in ftfy's order; each runs over the
// whole text before the next, as ftfy's do.
std::u32string character_fixes(std::u32string s) {
  std::u32string t;
  auto each = [&](auto&& f) {
    t.clear();
    t.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) f(i);
    s.swap(t);
  };
  each([&](size_t i) {  // C1 controls
    char32_t c = s[i];
    t.push_back(c >= 0x80 && c <= 0x9F ? kCp1252High[c - 0x80] : c);
  });
  each([&](size_t i) {  // Latin ligatures
    if (const char32_t* l = ligature(s[i]))
      t += l;
    else
      t.push_back(s[i]);
  });
  each([&](size_t i) {  // character width
    const auto& m = width_map();
    auto it = m.find(s[i]);
    if (it != m.end())
      t += it->second;
    else
      t.push_back(s[i]);
  });
  each([&](size_t i) {  // curly quotes
    char32_t c = s[i];
    t.push_back((c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) ? U'\''
                : (c >= 0x201C && c <= 0x201F)                ? U'"'
                                                              : c);
  });
  each([&](size_t i) {  // line breaks
    char32_t c = s[i];
    if (c == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n') return;  // CRLF: the LF stays
    t.push_back((c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85) ? U'\n' : c);
  });
  t.clear();  // terminal escapes (a pass of its own: they span characters)
  for (size_t i = 0; i < s.size();) {
    if (size_t n = terminal_escape_length(s, i)) {
      i += n;
    } else {
      t.push_back(s[i++]);
    }
  }
  s.swap(t);
  each([&](size_t i) {  // control characters
    if (!is_removed_control(s[i])) t.push_back(s[i]);
  });
  return s;
}

std::string fix_segment(std::string text, bool unescape) {
  const icu::Normalizer2& nfc = normalizer(false);
  // ftfy loops until the text is stable; each pass shrinks or keeps the text,
  // so a bound only guards against a cycle.
  for (int pass = 0; pass < 32; ++pass) {
    std::string before = text;
    if (unescape) text = html_unescape_complete_only(text);
    std::u32string s = utf8_to_code_points(text);
    fix_mojibake(s);
    s = character_fixes(std::move(s));
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString normalized = nfc.normalize(u32_to_icu(s), status);
    if (U_FAILURE(status)) {
      throw std::runtime_error(std::string("NFC normalization failed: ") + u_errorName(status));
    }
    text.clear();
    normalized.toUTF8String(text);
    if (text == before) break;
  }
  return text;
}

}  // namespace

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string fix_text(std::string_view text) {
  // Line by line, as ftfy does: once a line holds '<' (the text may be HTML,
  // where entities are meant), entities are left alone from there on.
  std::string out;
  bool unescape = true;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    if (unescape && line.find('<') != std::string_view::npos) unescape = false;
    out += fix_segment(std::string(line), unescape);
    pos = end;
  }
  return out;
}

std::string clip_clean_text(std::string_view text) {
  std::string fixed = html_unescape(html_unescape(fix_text(text)));
  std::u32string cps = utf8_to_code_points(fixed);
  std::u32string collapsed;
  collapsed.reserve(cps.size());
  bool pending_space = false;
  for (char32_t c : cps) {
    if (is_python_space(c)) {
      pending_space = !collapsed.empty();
      continue;
    }
    if (pending_space) collapsed.push_back(U' ');
    pending_space = false;
    collapsed.push_back(c);
  }
  // Full case mapping (one character may become two: U+0130 is "i" + U+0307)
  // with the language-independent rules, as Python's str.lower() has them.
  icu::UnicodeString lower = u32_to_icu(collapsed);
  lower.toLower(icu::Locale::getRoot());
  std::string out;
  lower.toUTF8String(out);
  return out;
}

}  // namespace atelier::ml::sd
