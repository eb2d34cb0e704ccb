// Loaded models kept for the life of a worker process, keyed by file path and
// checked against the file's size and modification time, so a replaced file is
// reloaded. Loading hashes the file (sha256) once. Generation never writes the
// cached weights: LoRAs are applied by ml::AppliedLoras, which swaps merged
// tensors in and the originals back.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "ml/captioner.h"
#include "ml/diffusion_model.h"
#include "ml/lora.h"

namespace atelier {

struct CachedModel {
  ml::DiffusionModel model{nullptr};
  std::string sha256;
  std::string name;  // metadata "atelier.name", else the file's stem
  std::map<std::string, std::string> metadata;
};

// Throws ml::FormatError / std::invalid_argument for a bad file.
std::shared_ptr<CachedModel> load_cached_model(const std::filesystem::path& file);

struct CachedLora {
  ml::Lora lora;
  std::string sha256;
  std::string name;  // ss_output_name, else the file's stem
};
std::shared_ptr<CachedLora> load_cached_lora(const std::filesystem::path& file);

struct CachedCaptioner {
  ml::Captioner model{nullptr};
  std::string sha256;
  std::string name;  // metadata "atelier.name", else the file's stem
};
std::shared_ptr<CachedCaptioner> load_cached_captioner(const std::filesystem::path& file);

}  // namespace atelier
