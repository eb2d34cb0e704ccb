// How a fuzz input carries --set values: leading "#set key=value" lines, which
// YAML reads as comments. Shared by fuzz/spec_fuzz.cpp and the regression test
// (tests/unit/fuzz_regression_test.cpp), so a saved input replays exactly.
#pragma once
#include <string>
#include <vector>

namespace atelier::fuzz {

inline std::vector<std::string> leading_sets(const std::string& text) {
  std::vector<std::string> sets;
  for (size_t at = 0; text.compare(at, 5, "#set ") == 0;) {
    const size_t end = text.find('\n', at);
    sets.push_back(text.substr(at + 5, end == std::string::npos ? end : end - at - 5));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return sets;
}

}  // namespace atelier::fuzz
