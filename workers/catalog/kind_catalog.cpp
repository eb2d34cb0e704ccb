#include "kind_catalog.h"

namespace atelier {

std::string_view to_string(ParamType t) {
  switch (t) {
    case ParamType::integer:
      return "an integer";
    case ParamType::number:
      return "a number";
    case ParamType::boolean:
      return "true or false";
    case ParamType::string:
      return "a string";
    case ParamType::list:
      return "a list";
    case ParamType::object:
      return "a mapping";
  }
  return "?";
}

const ParamSpec* KindSpec::param(std::string_view n) const {
  for (const ParamSpec& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

const std::vector<KindSpec>& kind_catalog() {
  static const std::vector<KindSpec> all = {
      {"sleep",
       1,
       "test and chaos-drill kind: waits, fails or crashes on request",
       {{"ms", ParamType::integer, false, "how long to sleep (default 0)"},
        {"fail_times", ParamType::integer, false, "fail the first N attempts with an error"},
        {"crash_times", ParamType::integer, false,
         "kill its own worker process abruptly during the first N attempts"},
        {"output", ParamType::boolean, false, "write a small text asset naming the job"},
        {"ignore_cancel", ParamType::boolean, false,
         "do not stop on cancel (to drill the supervisor's enforced cancel)"}}},
  };
  return all;
}

const KindSpec* find_kind(std::string_view name) {
  for (const KindSpec& k : kind_catalog())
    if (k.name == name) return &k;
  return nullptr;
}

std::string known_kinds_list() {
  std::string s;
  for (const KindSpec& k : kind_catalog()) s += (s.empty() ? "" : ", ") + k.name;
  return s;
}

}  // namespace atelier
