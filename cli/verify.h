// `atelier verify --regenerate`'s redraw, which only atelier-ml can do
// (cmd_regenerate.cpp): the policy that judges it is provenance/verify_policy.h.
#pragma once
#include <nlohmann/json.hpp>

#include "orchestrator/store.h"
#include "orchestrator/workspace.h"
#include "provenance/verify_policy.h"

namespace atelier::cli {

// Re-runs the generation a manifest records: the base model and LoRAs found by
// their sha256 (the store, the workspace's model folders), the same prompt,
// negative prompt, steps, sampler, cfg, seed, size, batch and thread count.
// Throws InputError naming the manifest field or the model it cannot find.
provenance::Regenerated regenerate_from_manifest(const nlohmann::json& manifest,
                                                 const Workspace& ws, Store& store);

}  // namespace atelier::cli
