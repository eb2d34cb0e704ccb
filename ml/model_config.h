// The architecture and diffusion settings of a text-to-image model. A model file
// carries them in its safetensors metadata ("atelier.config"), so the loader can
// rebuild the modules from the file alone; unknown keys are refused rather than
// silently ignored, and every field is range-checked before modules are built.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace atelier::ml {

struct ModelConfig {
  int image_size = 32;                                      // native resolution (square)
  int image_channels = 3;                                   // RGB in [-1, 1]
  std::vector<int> channels = {32, 64, 128};                // per UNet level, top to bottom
  std::vector<bool> attention = {false, true, true};        // cross-attention per level
  std::vector<bool> self_attention = {false, false, true};  // and self-attention too
  int res_blocks = 1;                                       // per level on the way down (up: +1)
  int heads = 4;
  int time_dim = 128;
  int text_dim = 128;
  int text_layers = 2;
  int text_heads = 4;
  int max_tokens = 16;  // includes the leading [BOS]
  int train_timesteps = 1000;
  std::string schedule = "cosine";  // cosine | linear
  std::string prediction = "v";     // v | epsilon

  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming the field.
  static ModelConfig from_json(const nlohmann::json& j);
  void validate() const;
};

}  // namespace atelier::ml
