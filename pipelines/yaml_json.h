// YAML nodes to JSON values: plain scalars become numbers, booleans or null
// where they read as such; quoted scalars always stay strings.
#pragma once
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace atelier {

// Throws InputError past `max_depth` levels: YAML aliases can make a node its
// own descendant (`&a [*a]`), and deep input must not exhaust the stack.
nlohmann::json yaml_to_json(const YAML::Node& node, int max_depth = 64);

}  // namespace atelier
