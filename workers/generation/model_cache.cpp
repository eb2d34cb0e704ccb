// Per-process model cache; see model_cache.h.
#include "workers/generation/model_cache.h"

#include <map>
#include <mutex>

#include "orchestrator/asset_store.h"

namespace atelier {

namespace fs = std::filesystem;

std::shared_ptr<CachedModel> load_cached_model(const fs::path& file) {
  static std::mutex mu;
  struct Entry {
    uintmax_t size;
    fs::file_time_type mtime;
    std::shared_ptr<CachedModel> model;
  };
  static std::map<fs::path, Entry> cache;
  const auto key = fs::absolute(file);
  const auto size = fs::file_size(key);
  const auto mtime = fs::last_write_time(key);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key);
      it != cache.end() && it->second.size == size && it->second.mtime == mtime)
    return it->second.model;
  auto loaded = ml::load_model(key);
  auto m = std::make_shared<CachedModel>();
  m->model = loaded.model;
  m->metadata = loaded.metadata;
  m->sha256 = sha256_file(key);
  auto n = loaded.metadata.find("atelier.name");
  m->name = n != loaded.metadata.end() ? n->second : key.stem().string();
  cache[key] = {size, mtime, m};
  return m;
}

}  // namespace atelier
