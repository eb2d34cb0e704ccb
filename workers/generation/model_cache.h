// Loaded models kept for the life of a worker process, keyed by file path and
// checked against the file's size and modification time, so a replaced file is
// reloaded. Loading hashes the file (sha256) once; generation never mutates the
// cached modules (LoRAs are applied on a copy).
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "ml/diffusion_model.h"

namespace atelier {

struct CachedModel {
  ml::DiffusionModel model{nullptr};
  std::string sha256;
  std::string name;  // metadata "atelier.name", else the file's stem
  std::map<std::string, std::string> metadata;
};

// Throws ml::FormatError / std::invalid_argument for a bad file.
std::shared_ptr<CachedModel> load_cached_model(const std::filesystem::path& file);

}  // namespace atelier
