// One parameter of a job kind as users see it: name, type, bounds, default and a
// one-line doc. The spec validator, the kind's typed parse, the CLI flags of the
// matching command and `atelier kinds` all read this one description, and all
// judge a value with check_param_value(), so a bound is written once and every
// place that refuses a value says the same words.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atelier {

// `files`: a path, glob, list or {path, licence} mapping relative to the spec;
// the files are imported as assets at submission. `text`: a string that may use
// prompt templating. `any`: the kind checks the shape itself.
enum class ParamType { integer, number, boolean, string, list, object, files, text, any };
std::string_view to_string(ParamType t);     // "an integer", as messages say it
std::string_view type_keyword(ParamType t);  // "integer", as `atelier kinds --json` says it

// How the matching CLI command takes the parameter: `--kebab-case` (the
// default), the command's positional argument, or not at all (spec-only; the
// declaration says why in `cli_note`).
enum class CliForm { flag, positional, none };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::any;
  std::string doc;
  bool required = false;
  // Checked for literal values (a ${stage.x} reference is checked when resolved).
  std::vector<std::string> one_of = {};  // strings: the accepted values
  double min = -1e300, max = 1e300;      // numbers: the accepted range
  CliForm cli = CliForm::flag;
  std::string cli_note = {};  // why a parameter has no flag
  // A folder the job writes into (confined for specs submitted over the API).
  bool output_folder = false;
  // Filled from the typed struct's default member value; null where the kind
  // works the default out itself (the doc says how).
  nlohmann::json default_value = nullptr;

  bool bounded() const { return min > -1e300 || max < 1e300; }
  std::string flag() const;  // "--kebab-case"
};

// Whether `v` suits `p`: nullopt, or the reason it does not, as
// "param 'count' must be in 1..1000, got 1001". References (`{"$ref": ...}`)
// are accepted where files, lists, strings or free values go.
std::optional<std::string> check_param_value(const ParamSpec& p, const nlohmann::json& v);

// The schema row of `atelier kinds --json`: {name, type, default, min, max, doc, ...}.
nlohmann::json param_json(const ParamSpec& p);

}  // namespace atelier
