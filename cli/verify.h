// `atelier verify` shared between the two binaries: the checks every build runs
// (cmd_verify.cpp: manifest, signature, pixels, key) and the re-run of the
// recorded generation that only atelier-ml can do (cmd_regenerate.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include "media/png_io.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"

namespace atelier::cli {

struct Regenerated {
  media::Image image;  // RGB8, as pixels_sha256 hashes it
  std::string model_file;
  int threads = 0;
  double seconds = 0;
};

// Re-runs the generation a manifest records: the base model and LoRAs found by
// their sha256 (the store, the workspace's model folders), the same prompt,
// negative prompt, steps, sampler, cfg, seed, size, batch and thread count.
// Throws InputError naming the manifest field or the model it cannot find.
Regenerated regenerate_from_manifest(const nlohmann::json& manifest, const Workspace& ws,
                                     Store& store);

}  // namespace atelier::cli
