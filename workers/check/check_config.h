// What a `check` stage asks for, parsed from its `with` (DESIGN.md s.5):
//   copyright: true | {registry: true|false|[labels], training: warn|fail|off}
//   terms:     [rule, ...] | {rules: [rule, ...]}   (rules as checks/terms.h reads them)
//   licence:   warn | fail | off
//   bias:      true | {...}                          (checks/bias.h: parse_bias_config)
//   gate:      fail | warn                           (default warn: verdicts only)
// A check that is not named does not run. Every error is an InputError naming the
// field, so a bad stage dies at once instead of being retried.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/bias.h"
#include "checks/terms.h"

namespace atelier {

struct CopyrightConfig {
  bool registry = true;
  std::vector<std::string> labels;        // empty: every registry entry
  std::string training_verdict = "warn";  // a memorised training image: warn, fail or off
};

struct CheckConfig {
  std::optional<CopyrightConfig> copyright;
  std::optional<std::vector<checks::TermRule>> terms;
  std::optional<std::string> licence;  // warn or fail
  std::optional<checks::BiasConfig> bias;
  std::string gate = "warn";
  bool any() const { return copyright || terms || licence || bias; }
};

CheckConfig parse_check_config(const nlohmann::json& with);

// The worse of two verdicts: pass < warn < not_checked < fail. not_checked (nothing
// was compared: the file is not what the check reads) ranks above warn, which did
// compare, so that a subject with nothing checked never reads as passed or merely
// warned; it is not a fail, so a gate does not quarantine on it.
std::string worse_verdict(const std::string& a, const std::string& b);

}  // namespace atelier
