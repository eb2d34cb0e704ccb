// The `check` kind's parameters: copyright, terms, licence and bias checks.
// The nested shapes (copyright, terms, bias) are read by workers/check/.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct CheckKindParams {
  nlohmann::json copyright = nullptr;
  nlohmann::json terms = nullptr;
  nlohmann::json licence = nullptr;
  nlohmann::json bias = nullptr;
  std::string gate = "warn";
  nlohmann::json images = nullptr;
};

const KindDecl<CheckKindParams>& check_kind();

}  // namespace atelier
