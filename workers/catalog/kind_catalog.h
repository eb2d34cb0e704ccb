// What every job kind declares without its implementation: name, threads per
// worker (for CPU slots) and parameter schema. The pipeline validator and the
// supervisor read this; linking it never pulls in a kind's dependencies (torch,
// FFmpeg).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace atelier {

enum class ParamType { integer, number, boolean, string, list, object };
std::string_view to_string(ParamType t);

struct ParamSpec {
  std::string name;
  ParamType type;
  bool required = false;
  std::string help;
};

struct KindSpec {
  std::string name;
  int threads = 1;  // CPU threads one worker of this kind uses
  std::string summary;
  std::vector<ParamSpec> params;
  const ParamSpec* param(std::string_view n) const;
};

const std::vector<KindSpec>& kind_catalog();
const KindSpec* find_kind(std::string_view name);
std::string known_kinds_list();  // "a, b, c" for error messages

}  // namespace atelier
