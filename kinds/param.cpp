#include "kinds/param.h"

#include <algorithm>

namespace atelier {

using nlohmann::json;

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
    case ParamType::files:
      return "a path, a glob, a list of them, or {path, licence}";
    case ParamType::text:
      return "text";
    case ParamType::any:
      return "a value";
  }
  return "?";
}

std::string_view type_keyword(ParamType t) {
  switch (t) {
    case ParamType::integer:
      return "integer";
    case ParamType::number:
      return "number";
    case ParamType::boolean:
      return "boolean";
    case ParamType::string:
      return "string";
    case ParamType::list:
      return "list";
    case ParamType::object:
      return "object";
    case ParamType::files:
      return "files";
    case ParamType::text:
      return "text";
    case ParamType::any:
      return "any";
  }
  return "?";
}

std::string ParamSpec::flag() const {
  std::string f = "--" + name;
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

namespace {

bool files_shape(const json& v) {
  auto one = [](const json& e) {
    if (e.is_string()) return !e.get<std::string>().empty();
    if (!e.is_object() || !e.contains("path") || !e["path"].is_string()) return false;
    for (auto it = e.begin(); it != e.end(); ++it)
      if ((it.key() != "path" && it.key() != "licence") || !it->is_string()) return false;
    return true;
  };
  if (v.is_array()) return !v.empty() && std::all_of(v.begin(), v.end(), one);
  return one(v);
}

bool type_fits(ParamType t, const json& v) {
  switch (t) {
    case ParamType::files:
      return files_shape(v);
    case ParamType::text:
    case ParamType::string:
      return v.is_string();
    case ParamType::any:
      return true;
    case ParamType::integer:
      return v.is_number_integer();
    case ParamType::number:
      return v.is_number();
    case ParamType::boolean:
      return v.is_boolean();
    case ParamType::list:
      return v.is_array();
    case ParamType::object:
      return v.is_object();
  }
  return false;
}

// 1e6 rather than 1000000.0, 1 rather than 1.0: bounds read as they were written.
std::string number_text(double d) {
  std::string s = json(d).dump();
  return s.size() > 2 && s.substr(s.size() - 2) == ".0" ? s.substr(0, s.size() - 2) : s;
}

// Whole numbers compared exactly (a seed of 2^53 + 1 is out of range even
// though a double rounds it onto the bound).
long double numeric(const json& v) {
  if (v.is_number_unsigned()) return static_cast<long double>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<long double>(v.get<int64_t>());
  return v.get<double>();
}

}  // namespace

std::optional<std::string> check_param_value(const ParamSpec& p, const json& v) {
  const std::string name = "param '" + p.name + "'";
  if (v.is_object() && v.contains("$ref")) {
    // Resolved when the job runs: fine wherever files, lists or free values go.
    if (p.type == ParamType::files || p.type == ParamType::list || p.type == ParamType::any ||
        p.type == ParamType::string)
      return std::nullopt;
    return name + " must be " + std::string(to_string(p.type)) +
           ", not a reference to another stage";
  }
  if (!type_fits(p.type, v))
    return name + " must be " + std::string(to_string(p.type)) + ", got " + v.dump();
  if (!p.one_of.empty() && v.is_string() &&
      std::find(p.one_of.begin(), p.one_of.end(), v.get<std::string>()) == p.one_of.end()) {
    std::string list;
    for (const auto& o : p.one_of) list += (list.empty() ? "" : ", ") + o;
    return name + ": unknown value " + v.dump() + " (known: " + list + ")";
  }
  if (v.is_number() && (numeric(v) < p.min || numeric(v) > p.max))
    return name + " must be in " + number_text(p.min) + ".." + number_text(p.max) + ", got " +
           v.dump();
  return std::nullopt;
}

namespace {
// An integer parameter's bounds as integers (1, not 1.0); none as null.
json bound_json(const ParamSpec& p, double b) {
  if (b <= -1e300 || b >= 1e300) return nullptr;
  if (p.type == ParamType::integer) return static_cast<int64_t>(b);
  return b;
}
}  // namespace

json param_json(const ParamSpec& p) {
  json j = {{"name", p.name},
            {"type", type_keyword(p.type)},
            {"default", p.default_value},
            {"min", bound_json(p, p.min)},
            {"max", bound_json(p, p.max)},
            {"doc", p.doc},
            {"required", p.required}};
  if (!p.one_of.empty()) j["one_of"] = p.one_of;
  j["cli"] = p.cli == CliForm::flag         ? json(p.flag())
             : p.cli == CliForm::positional ? json("positional")
                                            : json(nullptr);
  if (!p.cli_note.empty()) j["cli_note"] = p.cli_note;
  return j;
}

}  // namespace atelier
