// Pre-parse text checks and the post-parse tree check of spec_text_checks.h.
// The text scan is a small YAML-aware lexer: it knows quotes, comments, flow
// brackets, block scalars and "- "/"? "/": " indicators well enough to find tabs
// that indent and to bound nesting. Where it is unsure it counts a level more
// rather than less; the tree check holds the exact depth limit and catches
// what aliases add.
#include "spec_text_checks.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/utf8.h"

namespace atelier {
namespace {

[[noreturn]] void fail_at(const std::string& path, size_t line, size_t col,
                          const std::string& msg) {
  throw InputError(path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
}

// 1-based column, in characters, of byte `i` of a line of valid UTF-8.
size_t char_col(std::string_view line, size_t i) {
  size_t col = 1;
  for (size_t k = 0; k < i && k < line.size(); ++k)
    if ((static_cast<unsigned char>(line[k]) & 0xC0) != 0x80) ++col;
  return col;
}

std::string hex_byte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

void check_size(std::string_view text, const std::string& path) {
  if (text.size() <= kMaxSpecBytes) return;
  // Point at where the limit is crossed: that is where splitting should start.
  size_t line = 1, start = 0;
  for (size_t i = 0; i < kMaxSpecBytes; ++i)
    if (text[i] == '\n') ++line, start = i + 1;
  const std::string_view tail = text.substr(start, kMaxSpecBytes - start);
  fail_at(path, line, char_col(tail, tail.size()),
          "this spec is " + std::to_string(text.size()) + " bytes, over the 1 MiB limit (" +
              std::to_string(kMaxSpecBytes) + " bytes) from here on; split it into smaller specs");
}

void check_bytes(std::string_view text, const std::string& path) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b == '\n') {
      ++line, col = 1, ++i;
      continue;
    }
    if (b < 0x80) {
      if (b == 0)
        fail_at(path, line, col,
                "the file contains a NUL byte here; it looks like a binary file, not a text spec");
      if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7F)
        fail_at(path, line, col,
                "invisible control character (byte " + hex_byte(b) + ") here; delete it");
      ++col, ++i;
      continue;
    }
    char32_t cp = 0;
    const size_t n = utf8_sequence(text, i, cp);
    if (n == 0)
      fail_at(path, line, col,
              "the file is not UTF-8 text (byte " + hex_byte(b) +
                  " here); save it as UTF-8 in your editor");
    if (!(i == 0 && cp == 0xFEFF)) ++col;  // a leading byte-order mark takes no column
    i += n;
  }
}

// Tabs that indent, nesting depth, and quotes or brackets left open, line by
// line. Runs on valid UTF-8.
class StructureScan {
 public:
  explicit StructureScan(const std::string& path) : path_(path) {}

  void run(std::string_view text) {
    size_t no = 1;
    for (size_t start = 0; start <= text.size(); ++no) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      line(text.substr(start, end - start), no);
      start = end + 1;
    }
    // yaml-cpp reports these at the end of the file, or not at all; the place
    // to fix is where they open.
    if (quote_)
      fail_at(path_, quote_at_.first, quote_at_.second,
              std::string("this quoted text never ends; add the closing ") + quote_);
    if (!open_.empty())
      fail_at(path_, open_.back().line, open_.back().col,
              std::string("this ") + open_.back().bracket + " is never closed; add the matching " +
                  (open_.back().bracket == '[' ? ']' : '}'));
  }

 private:
  struct Open {
    size_t line, col;
    char bracket;
  };
  struct Level {
    size_t col;
    bool list;  // opened by "- "
  };

  void line(std::string_view l, size_t no) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    size_t ind = 0;
    while (ind < l.size() && l[ind] == ' ') ++ind;
    size_t ws = ind;
    while (ws < l.size() && (l[ws] == ' ' || l[ws] == '\t')) ++ws;
    const bool blank = ws == l.size();
    if (in_block_scalar_) {
      if (blank || static_cast<int>(ind) > block_parent_) return;  // text of a | or > value
      in_block_scalar_ = false;
    }
    // Inside a quoted string or a [..]/{..} that spans lines, leading tabs are
    // plain white space to YAML and the block structure does not change.
    if (quote_ || !open_.empty()) {
      rest(l, ws, no);
      return;
    }
    // More text of an unquoted value begun above: words, not structure, even if
    // they start with a quote or a bracket ("'90s look").
    if (plain_open_ && (blank || static_cast<int>(ind) > plain_parent_)) {
      for (size_t i = ws; i < l.size(); ++i)
        if (l[i] == '#' && (i == 0 || l[i - 1] == ' ' || l[i - 1] == '\t')) plain_open_ = false;
      return;
    }
    plain_open_ = false;
    if (ws > ind) fail_at(path_, no, ind + 1, "use spaces, not tabs, to indent");
    if (blank || l[ind] == '#') return;
    const auto indicator = [&](size_t p) {
      return p < l.size() && (l[p] == '-' || l[p] == '?' || l[p] == ':') &&
             (p + 1 == l.size() || l[p + 1] == ' ' || l[p + 1] == '\t');
    };
    bool dedent = false;
    while (!indents_.empty() && indents_.back().col > ind) indents_.pop_back(), dedent = true;
    // Going back out must land on a column used above; YAML's own message for
    // this ("end of map not found") names no cause.
    if (dedent && !indents_.empty() && indents_.back().col < ind)
      fail_at(path_, no, ind + 1,
              "this line is indented differently from the lines above it; line it up with "
              "the key or '-' it belongs with");
    if (!indents_.empty() && indents_.back().col == ind) {
      // A list may sit at the same indentation as the key that holds it: a
      // level of its own, which ends at the next key there.
      const bool below_same = indents_.size() > 1 && indents_[indents_.size() - 2].col == ind;
      if (indicator(ind) && !indents_.back().list) indents_.push_back({ind, true});
      if (!indicator(ind) && indents_.back().list && below_same) indents_.pop_back();
    } else {
      indents_.push_back({ind, indicator(ind)});
    }
    check_depth(l, ind, no);
    // "- ", "? " and ": " at the start open a node inside this one, on this line.
    size_t p = ind;
    while (indicator(p)) {
      ++p;
      while (p < l.size() && (l[p] == ' ' || l[p] == '\t')) ++p;
      if (p == l.size() || l[p] == '#') break;
      indents_.push_back({p, indicator(p)});
      check_depth(l, p, no);
    }
    node_start_ = true;
    after_key_ = false;
    rest(l, p, no);
  }

  // The rest of a line from byte `from`: quotes, comments, brackets, and where a
  // value may begin (only there do quotes, brackets and | or > mean anything).
  void rest(std::string_view l, size_t from, size_t no) {
    for (size_t i = from; i < l.size(); ++i) {
      const char c = l[i];
      if (quote_) {
        if (quote_ == '"' && c == '\\') {
          ++i;
        } else if (c == quote_) {
          if (quote_ == '\'' && i + 1 < l.size() && l[i + 1] == '\'') {
            ++i;
          } else {
            quote_ = 0;
            node_start_ = false;
            after_quote_ = true;
          }
        }
        continue;
      }
      if (c == ' ' || c == '\t') continue;
      if (c == '#' && (i == 0 || l[i - 1] == ' ' || l[i - 1] == '\t')) {
        plain_open_ = false;
        return;
      }
      const bool after_quote = std::exchange(after_quote_, false);
      if (node_start_) {
        if (c == '\'' || c == '"') {
          quote_ = c;
          quote_at_ = {no, char_col(l, i)};
          plain_open_ = false;
          continue;
        }
        if (c == '&' || c == '!') {  // anchor or tag: the value still follows
          while (i + 1 < l.size() &&
                 std::string_view(" \t,[]{}").find(l[i + 1]) == std::string_view::npos)
            ++i;
          continue;
        }
        if (c == '-' && open_.empty() && (i + 1 == l.size() || l[i + 1] == ' ')) {
          fail_at(path_, no, char_col(l, i),
                  "a list cannot start on the same line as its key; put each '- ' item on a "
                  "line of its own below the key");
        }
        if ((c == '|' || c == '>') && open_.empty()) {
          in_block_scalar_ = true;
          block_parent_ = parent_of(i);
          plain_open_ = false;
          return;
        }
      }
      if (c == '[' || c == '{') {
        if (node_start_ || !open_.empty()) {
          open_.push_back({no, char_col(l, i), c});
          check_depth(l, i, no);
          node_start_ = true;
          plain_open_ = false;
          continue;
        }
      }
      if (!open_.empty()) {
        if (c == ']' || c == '}') {
          open_.pop_back();
          node_start_ = false;
        } else {
          // ':' starts a value after a space-free JSON-style key ("a":1) or
          // before a space; elsewhere it is part of the text (http://x).
          const bool sep = i + 1 == l.size() || l[i + 1] == ' ' || l[i + 1] == '\t';
          node_start_ = c == ',' || c == '?' || (c == ':' && (sep || after_quote));
        }
        continue;
      }
      if (c == ':' && (i + 1 == l.size() || l[i + 1] == ' ' || l[i + 1] == '\t')) {
        // "title: Sale: 20% off" is the classic; YAML says "illegal map value".
        if (plain_open_ && plain_is_value_)
          fail_at(path_, no, char_col(l, i),
                  "this value contains ': '; put the whole value in quotes, like "
                  "\"Sale: 20% off\"");
        node_start_ = true;
        plain_open_ = false;  // what came before was a key
        after_key_ = true;
        continue;
      }
      if (node_start_ && c != '*') {
        plain_open_ = true;
        plain_is_value_ = after_key_;
        plain_parent_ = parent_of(i);
      }
      node_start_ = false;
    }
  }

  // Indentation of the block collection holding a value that starts at byte
  // `col`: lines indented more than this continue the value.
  int parent_of(size_t col) const {
    size_t levels = indents_.size();
    while (levels > 0 && indents_[levels - 1].col >= col) --levels;
    return levels == 0 ? -1 : static_cast<int>(indents_[levels - 1].col);
  }

  // One level of slack: a plain value after "- " counts as a level here, and
  // the tree check holds the exact limit once the parser has run.
  void check_depth(std::string_view l, size_t i, size_t no) const {
    if (indents_.size() + open_.size() > static_cast<size_t>(kMaxSpecDepth) + 1)
      fail_at(path_, no, char_col(l, i),
              "lists and mappings nest more than " + std::to_string(kMaxSpecDepth) +
                  " levels deep here; flatten the spec");
  }

  const std::string& path_;
  std::vector<Level> indents_;  // the open block collections
  std::vector<Open> open_;      // [ and { not yet closed
  char quote_ = 0;              // ' or " while inside a quoted string
  std::pair<size_t, size_t> quote_at_;
  bool after_quote_ = false;  // the last thing seen closed a quote
  bool node_start_ = true;    // a value may begin at the next character
  bool in_block_scalar_ = false;
  int block_parent_ = -1;  // a | or > value's text: the lines indented more than this
  bool plain_open_ = false;
  bool plain_is_value_ = false;  // it began after "key: " on its line
  bool after_key_ = false;       // this line had a "key: " before here
  int plain_parent_ = -1;        // likewise for an unquoted value that may go on
};

// The parsed tree, aliases followed: every visit counts, so a chain of aliases
// that repeats a list a million times fails here instead of in the loader.
class TreeCheck {
 public:
  explicit TreeCheck(const std::string& path) : path_(path) {}

  void walk(const YAML::Node& n, int depth) {
    if (++values_ > kMaxSpecValues)
      fail(n, "anchors and aliases (&name, *name) repeat more than " +
                  std::to_string(kMaxSpecValues) + " values; write the values out instead");
    if (!n.IsMap() && !n.IsSequence()) return;
    if (depth > kMaxSpecDepth)
      fail(n, "lists and mappings nest more than " + std::to_string(kMaxSpecDepth) +
                  " levels deep here; flatten the spec");
    if (n.IsSequence()) {
      for (const auto& e : n) walk(e, depth + 1);
      return;
    }
    std::map<std::string, int> seen;  // key -> 1-based line of its first use
    for (const auto& kv : n) {
      if (kv.first.IsMap() || kv.first.IsSequence())
        fail(kv.first, "a key must be a plain name, not a list or mapping");
      const std::string key = kv.first.Scalar();
      const int line = kv.first.Mark().is_null() ? 0 : kv.first.Mark().line + 1;
      auto [it, fresh] = seen.emplace(key, line);
      if (!fresh)
        fail(kv.first, "duplicate key '" + key + "' (already set" +
                           (it->second ? " on line " + std::to_string(it->second) : "") +
                           "); keep only one");
      walk(kv.second, depth + 1);
    }
  }

 private:
  [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
    const YAML::Mark m = at.Mark();
    if (m.is_null()) throw InputError(path_ + ": " + msg);
    fail_at(path_, m.line + 1, m.column + 1, msg);
  }

  const std::string& path_;
  size_t values_ = 0;
};

}  // namespace

void check_spec_text(std::string_view text, const std::string& path) {
  check_size(text, path);
  check_bytes(text, path);
  StructureScan(path).run(text);
}

void check_duplicate_keys(const YAML::Node& root, const std::string& path) {
  TreeCheck(path).walk(root, 1);
}

}  // namespace atelier
