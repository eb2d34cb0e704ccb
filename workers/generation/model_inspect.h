// What a weights file is, read from its header alone (names, shapes and
// metadata; no tensor data): Atelier's own format, a Stable Diffusion
// checkpoint (family and prediction type, every key checked against the
// layout exactly as loading would), or a kohya LoRA (the family its keys
// target). For `atelier model add`, which registers a file by reference.
#pragma once
#include <filesystem>
#include <string>

namespace atelier {

struct ModelFacts {
  std::string kind;               // "diffusion" or "lora"
  std::string format;             // "atelier-diffusion/1", "stable-diffusion", "kohya"
  std::string arch;               // "SD 1.x", "SD 2.x", "SDXL", "atelier"
  std::string prediction;         // "epsilon", "v", or "" (LoRAs)
  std::string dtype;              // "fp32", "fp16", "bf16", "mixed"
  std::string prediction_source;  // "metadata", "default", ""
};

// Throws InputError naming the file (pickle, not safetensors, a layout that
// does not load).
ModelFacts inspect_model_file(const std::filesystem::path& file);

}  // namespace atelier
