#include "yaml_json.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "common/errors.h"

namespace atelier {

namespace {
nlohmann::json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: a string, whatever it looks like
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) return i;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && end != s.c_str() && s.find_first_of("0123456789") != std::string::npos)
    return d;
  return s;
}
}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& node, int max_depth) {
  if (max_depth <= 0) {
    const YAML::Mark m = node.Mark();
    throw InputError(
        (m.is_null() ? std::string("a value")
                     : "line " + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1)) +
        ": nested too deeply (or an alias refers to itself)");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : node) a.push_back(yaml_to_json(e, max_depth - 1));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : node)
        o[kv.first.as<std::string>()] = yaml_to_json(kv.second, max_depth - 1);
      return o;
    }
  }
  return nullptr;
}

}  // namespace atelier
