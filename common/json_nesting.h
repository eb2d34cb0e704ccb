// How deeply JSON text nests, measured without parsing it. Readers of untrusted
// JSON (safetensors headers, embedded manifests) refuse deep text before any
// parser sees it: nlohmann's parser and dump both recurse once per level, so a
// hostile "[[[[..." would otherwise exhaust the stack.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace atelier {

// The deepest nesting of arrays and objects in `text`; brackets inside strings
// (escapes honoured) do not count. Unbalanced text is measured as far as it goes.
inline std::size_t json_nesting_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace atelier
