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
  // Stable Diffusion checkpoints only (ignored by Atelier's own models, which
  // carry their vocabulary): CLIP's tokenizer files, clip skip (0: the
  // family's default), the prediction type when the file does not say, and a
  // sampling preset.
  std::string tokenizer;
  int clip_skip = 0;
  std::string prediction;
  std::string preset;
  // img2img (Stable Diffusion): the image to start from (imported, or an
  // upstream image through needs/for_each) and how much of it to redraw.
  nlohmann::json init_image = nullptr;
  double strength = 0.75;
};

const KindDecl<GenerateParams>& generate_kind();

}  // namespace atelier
