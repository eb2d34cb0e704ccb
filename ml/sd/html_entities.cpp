// HTML character references (see html_entities.h). The name table was
// generated from the HTML5 named character references (sorted, for binary
// search); `legacy` marks names that decode without a semicolon.
#include "ml/sd/html_entities.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

#include "ml/sd/utf8.h"

namespace atelier::ml::sd {
namespace {

struct Entity {
  std::string_view name;
  char32_t code_point;
  bool legacy;
};

constexpr Entity kEntities[] = {
    {"AElig", 0x00C6, true},    {"AMP", 0x0026, true},      {"Aacute", 0x00C1, true},
    {"Acirc", 0x00C2, true},    {"Agrave", 0x00C0, true},   {"Alpha", 0x0391, false},
    {"Aring", 0x00C5, true},    {"Atilde", 0x00C3, true},   {"Auml", 0x00C4, true},
    {"Beta", 0x0392, false},    {"COPY", 0x00A9, true},     {"Ccedil", 0x00C7, true},
    {"Chi", 0x03A7, false},     {"Dagger", 0x2021, false},  {"Delta", 0x0394, false},
    {"ETH", 0x00D0, true},      {"Eacute", 0x00C9, true},   {"Ecirc", 0x00CA, true},
    {"Egrave", 0x00C8, true},   {"Epsilon", 0x0395, false}, {"Eta", 0x0397, false},
    {"Euml", 0x00CB, true},     {"GT", 0x003E, true},       {"Gamma", 0x0393, false},
    {"Iacute", 0x00CD, true},   {"Icirc", 0x00CE, true},    {"Igrave", 0x00CC, true},
    {"Iota", 0x0399, false},    {"Iuml", 0x00CF, true},     {"Kappa", 0x039A, false},
    {"LT", 0x003C, true},       {"Lambda", 0x039B, false},  {"Mu", 0x039C, false},
    {"Ntilde", 0x00D1, true},   {"Nu", 0x039D, false},      {"OElig", 0x0152, false},
    {"Oacute", 0x00D3, true},   {"Ocirc", 0x00D4, true},    {"Ograve", 0x00D2, true},
    {"Omega", 0x03A9, false},   {"Omicron", 0x039F, false}, {"Oslash", 0x00D8, true},
    {"Otilde", 0x00D5, true},   {"Ouml", 0x00D6, true},     {"Phi", 0x03A6, false},
    {"Pi", 0x03A0, false},      {"Prime", 0x2033, false},   {"Psi", 0x03A8, false},
    {"QUOT", 0x0022, true},     {"REG", 0x00AE, true},      {"Rho", 0x03A1, false},
    {"Scaron", 0x0160, false},  {"Sigma", 0x03A3, false},   {"THORN", 0x00DE, true},
    {"Tau", 0x03A4, false},     {"Theta", 0x0398, false},   {"Uacute", 0x00DA, true},
    {"Ucirc", 0x00DB, true},    {"Ugrave", 0x00D9, true},   {"Upsilon", 0x03A5, false},
    {"Uuml", 0x00DC, true},     {"Xi", 0x039E, false},      {"Yacute", 0x00DD, true},
    {"Yuml", 0x0178, false},    {"Zeta", 0x0396, false},    {"aacute", 0x00E1, true},
    {"acirc", 0x00E2, true},    {"acute", 0x00B4, true},    {"aelig", 0x00E6, true},
    {"agrave", 0x00E0, true},   {"alefsym", 0x2135, false}, {"alpha", 0x03B1, false},
    {"amp", 0x0026, true},      {"and", 0x2227, false},     {"ang", 0x2220, false},
    {"apos", 0x0027, false},    {"aring", 0x00E5, true},    {"asymp", 0x2248, false},
    {"atilde", 0x00E3, true},   {"auml", 0x00E4, true},     {"bdquo", 0x201E, false},
    {"beta", 0x03B2, false},    {"brvbar", 0x00A6, true},   {"bull", 0x2022, false},
    {"cap", 0x2229, false},     {"ccedil", 0x00E7, true},   {"cedil", 0x00B8, true},
    {"cent", 0x00A2, true},     {"chi", 0x03C7, false},     {"circ", 0x02C6, false},
    {"clubs", 0x2663, false},   {"cong", 0x2245, false},    {"copy", 0x00A9, true},
    {"crarr", 0x21B5, false},   {"cup", 0x222A, false},     {"curren", 0x00A4, true},
    {"dArr", 0x21D3, false},    {"dagger", 0x2020, false},  {"darr", 0x2193, false},
    {"deg", 0x00B0, true},      {"delta", 0x03B4, false},   {"diams", 0x2666, false},
    {"divide", 0x00F7, true},   {"eacute", 0x00E9, true},   {"ecirc", 0x00EA, true},
    {"egrave", 0x00E8, true},   {"empty", 0x2205, false},   {"emsp", 0x2003, false},
    {"ensp", 0x2002, false},    {"epsilon", 0x03B5, false}, {"equiv", 0x2261, false},
    {"eta", 0x03B7, false},     {"eth", 0x00F0, true},      {"euml", 0x00EB, true},
    {"euro", 0x20AC, false},    {"exist", 0x2203, false},   {"fnof", 0x0192, false},
    {"forall", 0x2200, false},  {"frac12", 0x00BD, true},   {"frac14", 0x00BC, true},
    {"frac34", 0x00BE, true},   {"frasl", 0x2044, false},   {"gamma", 0x03B3, false},
    {"ge", 0x2265, false},      {"gt", 0x003E, true},       {"hArr", 0x21D4, false},
    {"harr", 0x2194, false},    {"hearts", 0x2665, false},  {"hellip", 0x2026, false},
    {"iacute", 0x00ED, true},   {"icirc", 0x00EE, true},    {"iexcl", 0x00A1, true},
    {"igrave", 0x00EC, true},   {"image", 0x2111, false},   {"infin", 0x221E, false},
    {"int", 0x222B, false},     {"iota", 0x03B9, false},    {"iquest", 0x00BF, true},
    {"isin", 0x2208, false},    {"iuml", 0x00EF, true},     {"kappa", 0x03BA, false},
    {"lArr", 0x21D0, false},    {"lambda", 0x03BB, false},  {"lang", 0x27E8, false},
    {"laquo", 0x00AB, true},    {"larr", 0x2190, false},    {"lceil", 0x2308, false},
    {"ldquo", 0x201C, false},   {"le", 0x2264, false},      {"lfloor", 0x230A, false},
    {"lowast", 0x2217, false},  {"loz", 0x25CA, false},     {"lrm", 0x200E, false},
    {"lsaquo", 0x2039, false},  {"lsquo", 0x2018, false},   {"lt", 0x003C, true},
    {"macr", 0x00AF, true},     {"mdash", 0x2014, false},   {"micro", 0x00B5, true},
    {"middot", 0x00B7, true},   {"minus", 0x2212, false},   {"mu", 0x03BC, false},
    {"nabla", 0x2207, false},   {"nbsp", 0x00A0, true},     {"ndash", 0x2013, false},
    {"ne", 0x2260, false},      {"ni", 0x220B, false},      {"not", 0x00AC, true},
    {"notin", 0x2209, false},   {"nsub", 0x2284, false},    {"ntilde", 0x00F1, true},
    {"nu", 0x03BD, false},      {"oacute", 0x00F3, true},   {"ocirc", 0x00F4, true},
    {"oelig", 0x0153, false},   {"ograve", 0x00F2, true},   {"oline", 0x203E, false},
    {"omega", 0x03C9, false},   {"omicron", 0x03BF, false}, {"oplus", 0x2295, false},
    {"or", 0x2228, false},      {"ordf", 0x00AA, true},     {"ordm", 0x00BA, true},
    {"oslash", 0x00F8, true},   {"otilde", 0x00F5, true},   {"otimes", 0x2297, false},
    {"ouml", 0x00F6, true},     {"para", 0x00B6, true},     {"part", 0x2202, false},
    {"permil", 0x2030, false},  {"perp", 0x22A5, false},    {"phi", 0x03C6, false},
    {"pi", 0x03C0, false},      {"piv", 0x03D6, false},     {"plusmn", 0x00B1, true},
    {"pound", 0x00A3, true},    {"prime", 0x2032, false},   {"prod", 0x220F, false},
    {"prop", 0x221D, false},    {"psi", 0x03C8, false},     {"quot", 0x0022, true},
    {"rArr", 0x21D2, false},    {"radic", 0x221A, false},   {"rang", 0x27E9, false},
    {"raquo", 0x00BB, true},    {"rarr", 0x2192, false},    {"rceil", 0x2309, false},
    {"rdquo", 0x201D, false},   {"real", 0x211C, false},    {"reg", 0x00AE, true},
    {"rfloor", 0x230B, false},  {"rho", 0x03C1, false},     {"rlm", 0x200F, false},
    {"rsaquo", 0x203A, false},  {"rsquo", 0x2019, false},   {"sbquo", 0x201A, false},
    {"scaron", 0x0161, false},  {"sdot", 0x22C5, false},    {"sect", 0x00A7, true},
    {"shy", 0x00AD, true},      {"sigma", 0x03C3, false},   {"sigmaf", 0x03C2, false},
    {"sim", 0x223C, false},     {"spades", 0x2660, false},  {"sub", 0x2282, false},
    {"sube", 0x2286, false},    {"sum", 0x2211, false},     {"sup", 0x2283, false},
    {"sup1", 0x00B9, true},     {"sup2", 0x00B2, true},     {"sup3", 0x00B3, true},
    {"supe", 0x2287, false},    {"szlig", 0x00DF, true},    {"tau", 0x03C4, false},
    {"there4", 0x2234, false},  {"theta", 0x03B8, false},   {"thetasym", 0x03D1, false},
    {"thinsp", 0x2009, false},  {"thorn", 0x00FE, true},    {"tilde", 0x02DC, false},
    {"times", 0x00D7, true},    {"trade", 0x2122, false},   {"uArr", 0x21D1, false},
    {"uacute", 0x00FA, true},   {"uarr", 0x2191, false},    {"ucirc", 0x00FB, true},
    {"ugrave", 0x00F9, true},   {"uml", 0x00A8, true},      {"upsih", 0x03D2, false},
    {"upsilon", 0x03C5, false}, {"uuml", 0x00FC, true},     {"weierp", 0x2118, false},
    {"xi", 0x03BE, false},      {"yacute", 0x00FD, true},   {"yen", 0x00A5, true},
    {"yuml", 0x00FF, true},     {"zeta", 0x03B6, false},    {"zwj", 0x200D, false},
    {"zwnj", 0x200C, false},
};

const Entity* find_entity(std::string_view name) {
  auto it = std::lower_bound(std::begin(kEntities), std::end(kEntities), name,
                             [](const Entity& e, std::string_view n) { return e.name < n; });
  return it != std::end(kEntities) && it->name == name ? it : nullptr;
}

// Windows-1252 for the C1 numbers HTML5 reinterprets (&#128; is the euro sign);
// the five bytes Windows-1252 leaves undefined keep their C1 meaning.
constexpr char32_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

// What a numeric reference decodes to; nullopt: nothing (a removed noncharacter).
std::optional<char32_t> numeric_reference(uint64_t num) {
  if (num == 0) return U'\uFFFD';
  if (num == 0x0D) return U'\r';
  if (num >= 0x80 && num <= 0x9F) return kCp1252High[num - 0x80];
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U'\uFFFD';
  if ((num >= 0x01 && num <= 0x08) || num == 0x0B || (num >= 0x0E && num <= 0x1F) || num == 0x7F ||
      (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE) {
    return std::nullopt;
  }
  return static_cast<char32_t>(num);
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}
bool is_dec(char c) {
  return c >= '0' && c <= '9';
}

// Digits to a number that saturates above U+10FFFF (any larger value decodes
// the same way).
uint64_t parse_number(std::string_view digits, int base) {
  uint64_t v = 0;
  for (char c : digits) {
    int d = is_dec(c) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    v = std::min<uint64_t>(v * base + d, 0x110000);
  }
  return v;
}

void append_numeric(std::string& out, uint64_t num) {
  if (auto c = numeric_reference(num)) append_utf8(out, *c);
}

// One `&...` reference at text[i] (text[i] == '&') as Python's html.unescape
// reads it; returns the number of bytes consumed (0: not a reference).
size_t unescape_one(std::string_view text, size_t i, std::string& out) {
  size_t j = i + 1;
  if (j < text.size() && text[j] == '#') {
    ++j;
    int base = 10;
    if (j < text.size() && (text[j] == 'x' || text[j] == 'X')) {
      base = 16;
      ++j;
    }
    size_t start = j;
    while (j < text.size() && (base == 16 ? is_hex(text[j]) : is_dec(text[j]))) ++j;
    if (j == start) return 0;
    uint64_t num = parse_number(text.substr(start, j - start), base);
    if (j < text.size() && text[j] == ';') ++j;
    append_numeric(out, num);
    return j - i;
  }
  // A name: 1 to 32 code points other than tab, LF, FF, space, '<', '&', '#', ';'.
  size_t end = j;
  int count = 0;
  while (end < text.size() && count < 32) {
    char c = text[end];
    if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' ||
        c == ';') {
      break;
    }
    size_t len = 1;
    auto b = static_cast<unsigned char>(c);
    if (b >= 0xF0)
      len = 4;
    else if (b >= 0xE0)
      len = 3;
    else if (b >= 0xC0)
      len = 2;
    end = std::min(end + len, text.size());
    ++count;
  }
  if (count == 0) return 0;
  std::string_view name = text.substr(j, end - j);
  bool semicolon = end < text.size() && text[end] == ';';
  if (const Entity* e = find_entity(name); e && (semicolon || e->legacy)) {
    append_utf8(out, e->code_point);
    return end - i + (semicolon ? 1 : 0);
  }
  // The longest legacy name that starts the run decodes, the rest stays text.
  for (size_t len = name.size() - (semicolon ? 0 : 1); len >= 2; --len) {
    if (const Entity* e = find_entity(name.substr(0, len)); e && e->legacy) {
      append_utf8(out, e->code_point);
      return 1 + len;
    }
  }
  return 0;
}

}  // namespace

std::string html_unescape(std::string_view text) {
  if (text.find('&') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      if (size_t used = unescape_one(text, i, out)) {
        i += used;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::string html_unescape_complete_only(std::string_view text) {
  if (text.find('&') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      size_t j = i + 1;
      bool numeric = j < text.size() && text[j] == '#';
      if (numeric) ++j;
      size_t start = j;
      while (j < text.size() && j - start < 24 && std::isalnum(static_cast<unsigned char>(text[j])))
        ++j;
      if (j > start && j < text.size() && text[j] == ';') {
        std::string_view ref = text.substr(i, j + 1 - i);
        std::string decoded;
        if (numeric) {
          // Decoded only when the whole reference is used up.
          if (unescape_one(ref, 0, decoded) == ref.size()) {
            out += decoded;
            i = j + 1;
            continue;
          }
        } else if (const Entity* e = find_entity(text.substr(start, j - start))) {
          append_utf8(out, e->code_point);
          i = j + 1;
          continue;
        }
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

}  // namespace atelier::ml::sd
