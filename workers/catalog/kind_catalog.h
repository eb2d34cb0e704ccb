// What every job kind declares without its implementation: name, threads per
// worker (for CPU slots) and parameter schema. The pipeline validator and the
// supervisor read this; linking it never pulls in a kind's dependencies (torch,
// FFmpeg).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace atelier {

// `files`: a path, glob, list or {path, licence} mapping relative to the spec;
// the files are imported as assets at submission. `text`: a string that may use
// prompt templating. `any`: the kind checks the shape itself.
enum class ParamType { integer, number, boolean, string, list, object, files, text, any };
std::string_view to_string(ParamType t);

struct ParamSpec {
  std::string name;
  ParamType type;
  bool required = false;
  std::string help;
  // Checked at validation for literal values (not ${...} references).
  std::vector<std::string> one_of = {};  // strings: the accepted values
  double min = -1e300, max = 1e300;      // numbers: the accepted range
};

struct KindSpec {
  std::string name;
  int threads = 1;        // CPU threads one worker of this kind uses
  bool internal = false;  // made by Atelier itself, never named in a spec
  std::string summary;
  std::vector<ParamSpec> params;
  // Runs in `atelier-ml`, the binary that links the heavy libraries (libtorch,
  // OpenCV, FFmpeg); `atelier` itself stays light so every CLI call and plain
  // worker starts fast.
  bool ml = false;
  const ParamSpec* param(std::string_view n) const;
};

const std::vector<KindSpec>& kind_catalog();
const KindSpec* find_kind(std::string_view name);
std::string known_kinds_list();
bool is_ml_kind(std::string_view name);  // "a, b, c" for error messages

}  // namespace atelier
