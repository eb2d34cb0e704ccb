// Small text helpers shared across layers (header-only, no dependencies).
#pragma once
#include <string>
#include <string_view>

namespace atelier {

// `s` without leading and trailing spaces, tabs, CRs and LFs.
inline std::string trim_whitespace(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

}  // namespace atelier
