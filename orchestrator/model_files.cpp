// Model lookup; see model_files.h.
#include "orchestrator/model_files.h"

#include <cstdlib>
#include <sstream>

#include "common/errors.h"
#include "orchestrator/file_scope.h"

namespace atelier {

namespace fs = std::filesystem;

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::vector<fs::path> model_search_dirs(const WorkspaceConfig& c) {
  std::vector<fs::path> dirs(c.models.begin(), c.models.end());
  if (const char* env = std::getenv("ATELIER_MODELS"); env && *env) {
    std::stringstream ss(env);
    std::string d;
    while (std::getline(ss, d, ':'))
      if (!d.empty()) dirs.emplace_back(d);
  }
#ifdef ATELIER_MODELS_DIR
  dirs.emplace_back(ATELIER_MODELS_DIR);
#endif
  return dirs;
}

ModelLocation locate_model(const std::string& ref, const WorkspaceConfig& c, Store& store,
                           const AssetStore& assets, const FileScope* scope) {
  if (ref.empty()) throw InputError("model: empty reference");
  if (auto row = store.find_model(ref)) {
    if (row->path && fs::exists(*row->path)) return {*row->path, row};
    // Trained by a job: the weights are an asset.
    if (auto a = store.get_asset(row->sha256)) {
      auto p = assets.path_for(row->sha256, a->ext);
      if (fs::exists(p)) return {p, row};
    }
  }
  const bool looks_like_path = ref.find('/') != std::string::npos || fs::path(ref).has_extension();
  if (looks_like_path) {
    if (scope) scope->check_read(ref, "model '" + ref + "'");
    if (fs::exists(ref)) return {fs::absolute(ref), std::nullopt};
    throw InputError("model '" + ref + "': no such file");
  }
  if (is_sha256_hex(ref))
    throw InputError("model " + ref + ": no model with this sha256 is registered");
  std::string looked;
  for (const auto& d : model_search_dirs(c)) {
    auto p = d / (ref + ".safetensors");
    if (fs::exists(p)) return {p, std::nullopt};
    looked += (looked.empty() ? "" : ", ") + d.string();
  }
  throw InputError("model '" + ref + "' not found (looked for " + ref + ".safetensors in " +
                   looked + ")");
}

}  // namespace atelier
