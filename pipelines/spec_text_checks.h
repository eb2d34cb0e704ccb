// Checks on a spec that yaml-cpp does not make, or makes with messages nobody
// can act on: size, encoding, tabs, nesting depth, and (on the parsed tree)
// duplicate keys, complex keys and alias blow-ups. They run around YAML::Load so
// that the parser and the loader's recursive walks only ever see small, shallow,
// finite input. Every failure is an InputError "path:line:col: message" with
// 1-based line and column; the text checks count columns in characters.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace atelier {

// A spec is a hand-written file; 1 MiB is far beyond any real one, and it caps
// what parsing and validation can cost.
inline constexpr size_t kMaxSpecBytes = 1024 * 1024;
// Lists and mappings inside each other; real specs use about 5.
inline constexpr int kMaxSpecDepth = 32;
// Values in the parsed tree, counting each repeat an alias (*name) makes.
inline constexpr size_t kMaxSpecValues = 1'000'000;

// Before parsing: size, UTF-8, NUL and control bytes, tabs used to indent,
// quotes and brackets never closed, and nesting well past kMaxSpecDepth (a
// scan that errs towards counting levels, so yaml-cpp's recursion stays
// shallow; the exact limit is held by check_duplicate_keys).
void check_spec_text(std::string_view text, const std::string& path);

// After parsing: no key twice in one mapping, keys are scalars, and the tree,
// aliases expanded, is finite, at most kMaxSpecDepth deep and at most
// kMaxSpecValues large. Positions are yaml-cpp marks.
void check_duplicate_keys(const YAML::Node& root, const std::string& path);

}  // namespace atelier
