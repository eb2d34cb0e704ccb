// A per-process cache of objects loaded from files: keyed by absolute path,
// valid while the file's size and modification time hold (a replaced file is
// loaded again). One instance per loaded type; safe across threads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

namespace atelier {

template <typename T>
class FileCache {
 public:
  template <typename Load>
  std::shared_ptr<T> get(const std::filesystem::path& file, Load load) {
    const auto key = std::filesystem::absolute(file);
    const auto size = std::filesystem::file_size(key);
    const auto mtime = std::filesystem::last_write_time(key);
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
    std::filesystem::file_time_type mtime;
    std::shared_ptr<T> value;
  };
  std::mutex mu_;
  std::map<std::filesystem::path, Entry> cache_;
};

}  // namespace atelier
