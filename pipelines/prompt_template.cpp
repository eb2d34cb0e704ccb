// Parsing and expansion of prompt templates (prompt_template.h). Structural
// characters ({ } | _) are ASCII, and UTF-8 never reuses ASCII bytes inside a
// multi-byte character, so once the text is known to be valid UTF-8 the parser
// can scan bytes and only counts code points when it reports a column.
#include "prompt_template.h"
#include "common/utf8.h"

#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>

namespace atelier {
namespace {

std::string column_prefix(size_t column) {
  return column == 0 ? "" : "prompt column " + std::to_string(column) + ": ";
}

// 1-based column, in code points, of byte `i` of valid UTF-8 text.
size_t column_of(std::string_view s, size_t i) {
  size_t col = 1;
  for (size_t k = 0; k < i && k < s.size(); ++k)
    if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) ++col;
  return col;
}

std::string hex_byte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

// Byte index of the first invalid UTF-8 sequence, or npos.
size_t invalid_utf8_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = utf8_sequence(s, i, cp);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

bool is_wildcard_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Length of the wildcard `__name__` starting at s[i], or 0 if none starts there.
// The name ends at the first "__", so it never starts or ends with '_' and
// "a __b__ __c__" holds two wildcards; names cannot leave the wildcard folder.
size_t wildcard_at(std::string_view s, size_t i) {
  if (s.substr(i, 2) != "__" || i + 2 >= s.size() || s[i + 2] == '_' || !is_wildcard_char(s[i + 2]))
    return 0;
  for (size_t k = i + 3; k + 1 < s.size() && is_wildcard_char(s[k]); ++k)
    if (s[k] == '_' && s[k + 1] == '_') return k + 2 - i;
  return 0;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

using Part = PromptTemplate::Part;

// Reads the inside of a `{...}` group whose '{' is at s[open].
Part parse_group(std::string_view s, size_t open, size_t& end) {
  const size_t col = column_of(s, open);
  size_t close = open + 1;
  for (; close < s.size() && s[close] != '}'; ++close)
    if (s[close] == '{')
      throw TemplateError(column_of(s, close),
                          "'{' inside the group opened at column " + std::to_string(col) +
                              "; groups cannot nest (write {a|b} or {name}, and '{{' outside "
                              "groups for a literal brace)");
  if (close == s.size())
    throw TemplateError(col, "'{' is never closed; write '{{' for a literal brace");
  end = close + 1;
  const std::string_view inside = s.substr(open + 1, close - open - 1);

  Part p;
  p.column = col;
  if (inside.find('|') == std::string_view::npos) {
    if (inside.empty())
      throw TemplateError(col, "'{}' names no variable; write '{{}}' for literal braces");
    for (size_t k = 0; k < inside.size(); ++k)
      if (is_space(inside[k]) || static_cast<unsigned char>(inside[k]) < 0x20)
        throw TemplateError(col, "'{" + std::string(inside) +
                                     "}' is not a variable name (names have no spaces); write "
                                     "{a|b} for a choice, or '{{' and '}}' for literal braces");
    p.kind = Part::Kind::variable;
    p.text = inside;
    return p;
  }
  p.kind = Part::Kind::variants;
  for (size_t start = 0;;) {
    const size_t bar = inside.find('|', start);
    const std::string_view alt =
        inside.substr(start, bar == std::string_view::npos ? bar : bar - start);
    for (size_t k = 0; k < alt.size(); ++k)
      if (const size_t n = wildcard_at(alt, k))
        throw TemplateError(column_of(s, open + 1 + start + k),
                            "wildcard '" + std::string(alt.substr(k, n)) +
                                "' inside a {a|b} group; alternatives are plain text");
    p.alternatives.emplace_back(alt);
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return p;
}

// Splitmix64's finaliser: a bijection that spreads every input bit.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, n) from the engine's raw output by rejection:
// std::uniform_int_distribution differs between standard libraries, and a
// recorded seed must replay the same choice wherever it runs.
size_t draw(std::mt19937_64& gen, size_t n) {
  const uint64_t bound = n;
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod n
  for (;;) {
    const uint64_t r = gen();
    if (r >= threshold) return static_cast<size_t>(r % bound);
  }
}

std::string value_text(const std::string& name, const json& v, size_t column) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  throw TemplateError(column,
                      "variable '" + name + "' is " +
                          (v.is_null() ? std::string("empty (null)")
                                       : std::string(v.is_array() ? "a list" : "a mapping")) +
                          "; a prompt can only use text, numbers or true/false");
}

// One thing expansion chooses among: a variant group or a wildcard's list.
struct Dimension {
  std::string key;  // "variant_0" or "__colors__"
  const std::vector<std::string>* options;
};

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

TemplateError::TemplateError(size_t column, const std::string& message)
    : InputError(column_prefix(column) + message), column_(column) {}

PromptTemplate PromptTemplate::parse(std::string_view s) {
  if (const size_t bad = invalid_utf8_at(s); bad != std::string_view::npos)
    throw TemplateError(column_of(s, bad), "the prompt is not UTF-8 text (byte " +
                                               hex_byte(static_cast<unsigned char>(s[bad])) +
                                               " here)");
  PromptTemplate t;
  std::string literal;
  size_t literal_start = 0;
  const auto flush = [&] {
    if (literal.empty()) return;
    t.parts_.push_back({Part::Kind::text, std::move(literal), {}, column_of(s, literal_start)});
    literal.clear();
  };
  for (size_t i = 0; i < s.size();) {
    if (literal.empty()) literal_start = i;
    if (s.substr(i, 2) == "{{" || s.substr(i, 2) == "}}") {
      literal += s[i];
      i += 2;
    } else if (s[i] == '}') {
      throw TemplateError(column_of(s, i), "'}' closes nothing; write '}}' for a literal brace");
    } else if (s[i] == '{') {
      flush();
      size_t end = i;
      t.parts_.push_back(parse_group(s, i, end));
      i = end;
    } else if (const size_t n = wildcard_at(s, i)) {
      flush();
      t.parts_.push_back(
          {Part::Kind::wildcard, std::string(s.substr(i + 2, n - 4)), {}, column_of(s, i)});
      i += n;
    } else {
      literal += s[i++];
    }
  }
  flush();
  return t;
}

std::vector<std::string> PromptTemplate::variables() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Part& p : parts_)
    if (p.kind == Part::Kind::variable && seen.insert(p.text).second) out.push_back(p.text);
  return out;
}

std::vector<std::string> PromptTemplate::wildcards() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Part& p : parts_)
    if (p.kind == Part::Kind::wildcard && seen.insert(p.text).second) out.push_back(p.text);
  return out;
}

size_t PromptTemplate::variant_groups() const {
  size_t n = 0;
  for (const Part& p : parts_) n += p.kind == Part::Kind::variants;
  return n;
}

std::vector<std::string> read_wildcard_file(const std::filesystem::path& file) {
  // Lists are hand-kept word lists; a cap keeps a wrong file from filling memory.
  constexpr uintmax_t kMaxBytes = 16 * 1024 * 1024;
  const std::string where = file.string();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    throw InputError(where +
                     ": wildcard list not found (a wildcard __name__ reads name.txt "
                     "in the spec's folder)");
  if (!std::filesystem::is_regular_file(file, ec))
    throw InputError(where + ": wildcard list is not a regular file");
  if (const uintmax_t size = std::filesystem::file_size(file, ec); !ec && size > kMaxBytes)
    throw InputError(where + ": wildcard list is " + std::to_string(size) +
                     " bytes, over the 16 MiB limit");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (!in) throw InputError(where + ": cannot read wildcard list");
  std::string text = buf.str();
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);  // editors' byte-order mark

  std::vector<std::string> entries;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view line = std::string_view(text).substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (const size_t bad = invalid_utf8_at(line); bad != std::string_view::npos)
      throw InputError(where + ":" + std::to_string(line_no) + ": not UTF-8 text (byte " +
                       hex_byte(static_cast<unsigned char>(line[bad])) + " at column " +
                       std::to_string(column_of(line, bad)) + "); save the file as UTF-8");
    std::string entry = trim(line);
    if (entry.empty() || entry.front() == '#') continue;
    entries.push_back(std::move(entry));
  }
  if (entries.empty())
    throw InputError(where + ": wildcard list has no entries (only blank lines or # comments)");
  return entries;
}

WildcardLists load_wildcards(const PromptTemplate& t, const std::filesystem::path& dir) {
  WildcardLists lists;
  for (const std::string& name : t.wildcards())
    lists.emplace(name, read_wildcard_file(dir / (name + ".txt")));
  return lists;
}

uint64_t prompt_sample_seed(uint64_t seed, uint64_t job_index) {
  return mix64(seed ^ mix64(job_index + 0x9E3779B97F4A7C15ULL));
}

std::vector<Expansion> expand_prompt(const PromptTemplate& t, const json& vars,
                                     const WildcardLists& lists, VariantMode mode, uint64_t seed,
                                     size_t limit, uint64_t job_index) {
  using Kind = Part::Kind;
  const auto& parts = t.parts();

  // Everything that does not vary, resolved once; then the dimensions, in
  // template order, with dim_of[i] saying which one part i takes its text from.
  std::vector<std::string> fixed(parts.size());
  std::vector<Dimension> dims;
  std::vector<size_t> dim_of(parts.size(), 0);
  std::map<std::string, size_t> wildcard_dim;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    if (p.kind == Kind::text) {
      fixed[i] = p.text;
    } else if (p.kind == Kind::variable) {
      if (!vars.is_object() || !vars.contains(p.text)) {
        std::string known;
        if (vars.is_object())
          for (auto it = vars.begin(); it != vars.end(); ++it)
            known += (known.empty() ? "" : ", ") + it.key();
        throw TemplateError(p.column, "unknown variable '" + p.text + "' in prompt; " +
                                          (known.empty() ? "the stage has no matrix variables"
                                                         : "the stage's matrix has: " + known));
      }
      fixed[i] = value_text(p.text, vars.at(p.text), p.column);
    } else if (p.kind == Kind::variants) {
      dim_of[i] = dims.size();
      dims.push_back(
          {"variant_" + std::to_string(dims.size() - wildcard_dim.size()), &p.alternatives});
    } else if (auto seen = wildcard_dim.find(p.text); seen != wildcard_dim.end()) {
      dim_of[i] = seen->second;
    } else {
      const auto list = lists.find(p.text);
      if (list == lists.end() || list->second.empty())
        throw TemplateError(p.column, "wildcard '__" + p.text + "__' has no list loaded");
      dim_of[i] = dims.size();
      wildcard_dim.emplace(p.text, dims.size());
      dims.push_back({"__" + p.text + "__", &list->second});
    }
  }

  const auto build = [&](const std::vector<size_t>& pick, uint64_t used_seed) {
    Expansion e;
    e.seed = used_seed;
    for (size_t i = 0; i < parts.size(); ++i)
      e.text += parts[i].kind == Kind::variants || parts[i].kind == Kind::wildcard
                    ? (*dims[dim_of[i]].options)[pick[dim_of[i]]]
                    : fixed[i];
    for (size_t d = 0; d < dims.size(); ++d) e.choices[dims[d].key] = (*dims[d].options)[pick[d]];
    return e;
  };

  std::vector<size_t> pick(dims.size(), 0);
  if (mode == VariantMode::sampled) {
    const uint64_t s = prompt_sample_seed(seed, job_index);
    std::mt19937_64 gen(s);
    for (size_t d = 0; d < dims.size(); ++d) pick[d] = draw(gen, dims[d].options->size());
    return {build(pick, s)};
  }

  size_t total = 1;
  bool overflow = false;
  for (const Dimension& d : dims) {
    if (total > std::numeric_limits<size_t>::max() / d.options->size()) overflow = true;
    total *= d.options->size();
  }
  if (overflow || total > limit)
    throw TemplateError(
        0, "this prompt makes " +
               (overflow ? "more than " + std::to_string(std::numeric_limits<size_t>::max())
                         : std::to_string(total)) +
               " combinations of its variants and wildcards, over the limit of " +
               std::to_string(limit) + "; use sampled variants or fewer alternatives");
  std::vector<Expansion> out;
  out.reserve(total);
  for (size_t k = 0; k < total; ++k) {
    size_t rest = k;
    for (size_t d = dims.size(); d-- > 0;) {
      pick[d] = rest % dims[d].options->size();
      rest /= dims[d].options->size();
    }
    out.push_back(build(pick, 0));
  }
  return out;
}

bool has_template_syntax(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '{' || text[i] == '}' || wildcard_at(text, i) != 0) return true;
  return false;
}

}  // namespace atelier
