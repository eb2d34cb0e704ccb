// Finding model weights: by sha256 (a registered model, or one a job stored as an
// asset), by path, or by name in the model folders: the workspace's `models:`
// list, then $ATELIER_MODELS (colon-separated), then the models shipped with
// Atelier. Torch-free: it only finds files.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/asset_store.h"
#include "orchestrator/config.h"
#include "orchestrator/store.h"

namespace atelier {

class FileScope;

std::vector<std::filesystem::path> model_search_dirs(const WorkspaceConfig& c);

struct ModelLocation {
  std::filesystem::path file;
  std::optional<ModelRow> row;  // when the store already knows it
};

// Throws InputError naming the reference and where it looked. A reference
// that is a path is judged by `scope` (file_scope.h) when one is given.
ModelLocation locate_model(const std::string& ref, const WorkspaceConfig& c, Store& store,
                           const AssetStore& assets, const FileScope* scope = nullptr);

bool is_sha256_hex(const std::string& s);

}  // namespace atelier
