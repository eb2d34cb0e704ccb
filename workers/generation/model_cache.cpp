// Per-process model cache; see model_cache.h.
#include "workers/generation/model_cache.h"

#include <map>
#include <mutex>

#include "orchestrator/asset_store.h"
#include "workers/generation/file_cache.h"

namespace atelier {

namespace fs = std::filesystem;

std::shared_ptr<CachedLora> load_cached_lora(const fs::path& file) {
  static FileCache<CachedLora> cache;
  return cache.get(file, [](const fs::path& key) {
    auto l = std::make_shared<CachedLora>();
    l->lora = ml::load_lora(key);
    l->sha256 = sha256_file(key);
    auto n = l->lora.metadata.find("ss_output_name");
    l->name = n != l->lora.metadata.end() && !n->second.empty() ? n->second : key.stem().string();
    return l;
  });
}

std::shared_ptr<CachedCaptioner> load_cached_captioner(const fs::path& file) {
  static FileCache<CachedCaptioner> cache;
  return cache.get(file, [](const fs::path& key) {
    auto loaded = ml::load_captioner(key);
    auto c = std::make_shared<CachedCaptioner>();
    c->model = loaded.model;
    c->sha256 = sha256_file(key);
    auto n = loaded.metadata.find("atelier.name");
    c->name = n != loaded.metadata.end() ? n->second : key.stem().string();
    return c;
  });
}

std::shared_ptr<CachedModel> load_cached_model(const fs::path& file) {
  static FileCache<CachedModel> cache;
  return cache.get(file, [](const fs::path& key) {
    auto loaded = ml::load_model(key);
    auto m = std::make_shared<CachedModel>();
    m->model = loaded.model;
    m->metadata = loaded.metadata;
    m->sha256 = sha256_file(key);
    auto n = loaded.metadata.find("atelier.name");
    m->name = n != loaded.metadata.end() ? n->second : key.stem().string();
    return m;
  });
}

}  // namespace atelier
