// Every job kind, as declared in kinds/<kind>.cpp: the one list of kinds. The
// validator, supervisor, dashboard, CLI and `atelier kinds` read it; each
// binary's registry (workers/kind_registry.h) holds the implementations.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kinds/kind_decl.h"

namespace atelier {

const std::vector<KindSpec>& kind_catalog();
const KindSpec* find_kind(std::string_view name);
std::string known_kinds_list();  // "a, b, c" for error messages (internal kinds left out)
// `atelier kinds --json`: [{name, binary, threads, summary, command, params: [...]}]
nlohmann::json kinds_json();

}  // namespace atelier
