// Parsing a check stage's `with`; see check_config.h.
#include "workers/check/check_config.h"

#include <stdexcept>

#include "common/errors.h"
#include "kinds/check.h"

namespace atelier {
namespace {

std::string one_of(const nlohmann::json& v, const std::string& field,
                   const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  if (!v.is_string())
    throw InputError("check: '" + field + "' must be one of " + list + ", got " + v.dump());
  const std::string s = v.get<std::string>();
  for (const auto& a : allowed)
    if (s == a) return s;
  throw InputError("check: '" + field + "' must be one of " + list + ", got '" + s + "'");
}

CopyrightConfig parse_copyright(const nlohmann::json& v) {
  CopyrightConfig c;
  if (v.is_boolean()) return c;
  if (!v.is_object())
    throw InputError("check: 'copyright' must be true or {registry, training}, got " + v.dump());
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() == "registry") {
      if (it->is_boolean()) {
        c.registry = it->get<bool>();
      } else if (it->is_array()) {
        for (const auto& l : *it) {
          if (!l.is_string() || l.get<std::string>().empty())
            throw InputError("check: 'copyright.registry' lists labels (strings), got " + l.dump());
          c.labels.push_back(l.get<std::string>());
        }
      } else {
        throw InputError("check: 'copyright.registry' must be true, false or a list of labels");
      }
    } else if (it.key() == "training") {
      c.training_verdict = one_of(*it, "copyright.training", {"warn", "fail", "off"});
    } else {
      throw InputError("check: unknown field 'copyright." + it.key() +
                       "' (known: registry, training)");
    }
  }
  return c;
}

}  // namespace

std::string worse_verdict(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& v) {
    return v == "fail" ? 3 : v == "not_checked" ? 2 : v == "warn" ? 1 : 0;
  };
  return rank(b) > rank(a) ? b : a;
}

CheckConfig parse_check_config(const nlohmann::json& with) {
  CheckConfig c;
  for (auto it = with.begin(); it != with.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = *it;
    const bool off = v.is_boolean() && !v.get<bool>();
    if (k == "copyright") {
      if (!off) c.copyright = parse_copyright(v);
    } else if (k == "terms") {
      const nlohmann::json& rules = v.is_object() && v.contains("rules") ? v["rules"] : v;
      try {
        c.terms = checks::parse_term_rules(rules);
      } catch (const std::invalid_argument& e) {
        throw InputError(std::string("check: 'terms': ") + e.what());
      }
    } else if (k == "licence") {
      if (off) continue;
      const std::string p = v.is_boolean() ? "warn" : one_of(v, k, {"warn", "fail", "off"});
      if (p != "off") c.licence = p;
    } else if (k == "bias") {
      if (off) continue;
      try {
        c.bias = checks::parse_bias_config(v);
      } catch (const std::invalid_argument& e) {
        throw InputError(std::string("check: 'bias': ") + e.what());
      }
    } else if (k == "gate") {
      c.gate = check_kind().parse(nlohmann::json{{"gate", v}}).gate;  // its declared values
    } else if (!k.empty() && k[0] == '_') {
      continue;  // set by Atelier (_inputs of a for_each job)
    } else if (check_kind().spec().param(k)) {
      continue;  // declared and used elsewhere (images: the job's inputs, resolved before)
    } else {
      std::string known;
      for (const ParamSpec& p : check_kind().spec().params)
        known += (known.empty() ? "" : ", ") + p.name;
      throw InputError("check: unknown parameter '" + k + "' (known: " + known + ")");
    }
  }
  if (!c.any())
    throw InputError("check: name at least one check (copyright, terms, licence or bias)");
  return c;
}

}  // namespace atelier
