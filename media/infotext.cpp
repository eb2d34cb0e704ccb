// AUTOMATIC1111 infotext (rules and deviations in infotext.h). The parameter
// pattern is emulated by a scanner that reproduces Python's re.findall result
// for that one pattern; the comments at each step say which part of the
// pattern it stands for and why no backtracking alternative could match.
#include "media/infotext.h"

#include "common/json_quote.h"

#include <stdexcept>
#include <unordered_map>

namespace atelier::media {
namespace {

constexpr std::string_view kNegativePrefix = "Negative prompt:";

// Python's str.isspace() and re's \s, restricted to single bytes.
bool is_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F);
}

// \w: ASCII letters, digits, '_'; any byte of a multi-byte UTF-8 sequence
// stands in for Python's Unicode letters.
bool is_word(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}

// [\w \-/]
bool is_key_char(unsigned char c) {
  return is_word(c) || c == ' ' || c == '-' || c == '/';
}

std::string_view strip(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && is_space(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

using Match = std::pair<std::string_view, std::string_view>;

// re.findall(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)', line)
// for a line without '\n'. Linear: a failed attempt skips every start position
// that must fail the same way, and each value is scanned at most twice.
std::vector<Match> find_params(std::string_view s) {
  std::vector<Match> out;
  const size_t n = s.size();
  size_t p = 0;
  while (p < n) {
    // \s*: giving whitespace back cannot help, \w never matches it.
    size_t q = p;
    while (q < n && is_space(static_cast<unsigned char>(s[q]))) ++q;
    if (q == n) break;
    if (!is_word(static_cast<unsigned char>(s[q]))) {
      p = q + 1;  // every start in [p, q] reaches this same byte
      continue;
    }
    // \w[\w \-/]+ then ':': ':' is not a key character, so only the longest
    // run can be followed by it. Starts inside the run end at the same byte
    // with a shorter key, so they fail too.
    size_t r = q + 1;
    while (r < n && is_key_char(static_cast<unsigned char>(s[r]))) ++r;
    if (r - q < 2 || r == n || s[r] != ':') {
      p = r;
      continue;
    }
    const std::string_view key = s.substr(q, r - q);
    size_t w = r + 1;
    while (w < n && is_space(static_cast<unsigned char>(s[w]))) ++w;
    // First alternative: "(?:\\.|[^\\"])+" followed by ',' or the end. The
    // inner loop is deterministic (a backslash always takes the next byte,
    // an unescaped quote always ends it), so there is exactly one candidate.
    if (w < n && s[w] == '"') {
      size_t i = w + 1;
      bool closed = false;
      while (i < n) {
        if (s[i] == '\\') {
          if (i + 1 >= n) break;
          i += 2;
        } else if (s[i] == '"') {
          closed = i > w + 1;  // the '+' needs at least one character
          break;
        } else {
          ++i;
        }
      }
      if (closed && (i + 1 == n || s[i + 1] == ',')) {
        out.emplace_back(key, s.substr(w, i + 1 - w));
        p = i + 2;
        continue;
      }
    }
    // Second alternative: [^,]* always matches, so \s* never backtracks.
    size_t j = w;
    while (j < n && s[j] != ',') ++j;
    out.emplace_back(key, s.substr(w, j - w));
    p = j + 1;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_u16(std::string_view s, size_t at, char32_t& out) {
  if (at + 4 > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = hex_value(s[at + k]);
    if (h < 0) return false;
    out = (out << 4) | char32_t(h);
  }
  return true;
}

// json.loads for a value that starts and ends with '"'. Where Python would
// fail (bad escape, control character, quote inside, trailing data) we fail
// too and A1111 keeps the raw text; where Python would produce a lone
// surrogate, which UTF-8 cannot hold, we fail as well.
bool json_unquote(std::string_view v, std::string& out) {
  out.clear();
  if (v.size() < 2) return false;   // a lone '"' opens and never closes
  const size_t end = v.size() - 1;  // index of the closing quote
  for (size_t i = 1; i < end;) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == '"' || c < 0x20) return false;
    if (c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (i + 1 >= end) return false;  // the backslash would escape the closing quote
    const char e = v[i + 1];
    i += 2;
    switch (e) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '/':
        out.push_back('/');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        char32_t cp = 0;
        if (i + 4 > end || !read_u16(v, i, cp)) return false;
        i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          char32_t lo = 0;
          if (i + 6 > end || v[i] != '\\' || v[i + 1] != 'u' || !read_u16(v, i + 2, lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return false;
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// A1111 quotes on ',', '\n' and ':'; a quote, an empty value or surrounding
// whitespace would not survive the parser unquoted either.
bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  if (is_space(static_cast<unsigned char>(v.front())) ||
      is_space(static_cast<unsigned char>(v.back())))
    return true;
  return v.find_first_of(",\n:\"") != std::string_view::npos;
}

bool valid_key(std::string_view k) {
  if (k.size() < 2 || !is_word(static_cast<unsigned char>(k[0]))) return false;
  for (const char c : k)
    if (!is_key_char(static_cast<unsigned char>(c))) return false;
  return true;
}

void append_line(std::string& acc, std::string_view line) {
  if (!acc.empty()) acc.push_back('\n');
  acc.append(line);
}

}  // namespace

std::optional<std::string> Infotext::get(std::string_view key) const {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return std::nullopt;
}

std::string format_infotext(const Infotext& info) {
  std::string out = info.prompt;
  if (!info.negative_prompt.empty()) {
    out += "\n";
    out += kNegativePrefix;
    out += " ";
    out += info.negative_prompt;
  }
  if (!info.params.empty()) {
    out += "\n";
    bool first = true;
    for (const auto& [k, v] : info.params) {
      if (!valid_key(k))
        throw std::invalid_argument("infotext parameter key '" + k + "' is invalid");
      if (!first) out += ", ";
      first = false;
      out += k;
      out += ": ";
      out += needs_quotes(v) ? json_quoted(v) : v;
    }
  }
  return std::string(strip(out));
}

Infotext parse_infotext(std::string_view text) {
  Infotext info;
  const std::string_view all = strip(text);
  const size_t last_nl = all.rfind('\n');
  const size_t last_start = last_nl == std::string_view::npos ? 0 : last_nl + 1;
  std::vector<Match> params = find_params(all.substr(last_start));
  // With fewer than 3 parameters the last line is part of the prompt.
  std::string_view body = all;
  if (params.size() < 3)
    params.clear();
  else
    body = last_nl == std::string_view::npos ? std::string_view() : all.substr(0, last_nl);

  bool done_with_prompt = false;
  // When the parameters were the only line there are no prompt lines at all;
  // otherwise even an empty body is one (empty) line, as str.split gives.
  const bool has_lines = params.empty() || last_nl != std::string_view::npos;
  for (size_t start = 0; has_lines;) {
    const size_t nl = body.find('\n', start);
    std::string_view line = strip(
        body.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (line.starts_with(kNegativePrefix)) {
      done_with_prompt = true;
      line = strip(line.substr(kNegativePrefix.size()));
    }
    append_line(done_with_prompt ? info.negative_prompt : info.prompt, line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }

  std::string unquoted;
  // Keys are views into `text`; a map keeps hostile lines with millions of
  // repeated keys linear.
  std::unordered_map<std::string_view, size_t> index;
  for (const auto& [k, raw] : params) {
    // A1111 indexes v[0] inside a try block: an empty value raises and is skipped.
    if (raw.empty()) continue;
    std::string value(raw);
    if (raw.front() == '"' && raw.back() == '"' && json_unquote(raw, unquoted)) value = unquoted;
    const auto [it, inserted] = index.try_emplace(k, info.params.size());
    if (inserted)
      info.params.emplace_back(std::string(k), std::move(value));
    else
      info.params[it->second].second = std::move(value);
  }
  return info;
}

}  // namespace atelier::media
