// The `generate` kind's parameters (text-to-image), declared once: spec
// validation, the kind, `atelier generate` and `atelier kinds` read them here.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct GenerateParams {
  std::string prompt;
  std::string negative;
  std::string variants = "combinatorial";
  int count = 1;
  int64_t seed = 0;
  // The defaults the shipped model's quality is measured at (models/*.md): DDIM
  // at 40 steps beat DPM++ 2M at 20 on category accuracy.
  int steps = 40;
  std::string sampler = "DDIM";
  double cfg = 5.0;
  nlohmann::json size = nullptr;  // N or "NxN"; null: the model's own size
  int batch = 8;
  nlohmann::json model = "twemoji-base-32";  // name, path, sha256 or a resolved ${stage.model}
  nlohmann::json loras = nullptr;            // [{model, scale}] or names
};

const KindDecl<GenerateParams>& generate_kind();

}  // namespace atelier
