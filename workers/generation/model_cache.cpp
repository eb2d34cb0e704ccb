// Per-process model cache; see model_cache.h.
#include "workers/generation/model_cache.h"

#include <map>
#include <mutex>

#include "orchestrator/asset_store.h"

namespace atelier {

namespace fs = std::filesystem;

namespace {

// One cache per loaded type, keyed by absolute path, valid while size and mtime hold.
template <typename T>
class FileCache {
 public:
  template <typename Load>
  std::shared_ptr<T> get(const fs::path& file, Load load) {
    const auto key = fs::absolute(file);
    const auto size = fs::file_size(key);
    const auto mtime = fs::last_write_time(key);
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key);
        it != cache_.end() && it->second.size == size && it->second.mtime == mtime)
      return it->second.value;
    auto v = load(key);
    cache_[key] = {size, mtime, v};
    return v;
  }

 private:
  struct Entry {
    uintmax_t size;
    fs::file_time_type mtime;
    std::shared_ptr<T> value;
  };
  std::mutex mu_;
  std::map<fs::path, Entry> cache_;
};

}  // namespace

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
