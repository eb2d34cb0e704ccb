// YAML nodes to JSON values: plain scalars become numbers, booleans or null
// where they read as such; quoted scalars always stay strings.
#pragma once
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace atelier {

nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace atelier
