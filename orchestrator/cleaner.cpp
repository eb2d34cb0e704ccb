#include "cleaner.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <unordered_set>

namespace atelier {
namespace fs = std::filesystem;

bool Cleaner::old_enough(const fs::path& p) const {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return false;
  const int64_t mtime_ms =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  return clock_.now_ms() - mtime_ms >= opts_.orphan_grace_ms;
}

CleanerStats Cleaner::run_once() {
  CleanerStats s;
  std::error_code ec;
  if (opts_.retention_days > 0) {
    s.runs_removed =
        store_.remove_finished_runs(clock_.now_ms() - int64_t{opts_.retention_days} * 86'400'000);
  }
  const auto shas = store_.asset_shas();
  const std::unordered_set<std::string> known(shas.begin(), shas.end());
  if (fs::exists(opts_.assets_dir)) {
    for (const auto& e : fs::recursive_directory_iterator(opts_.assets_dir, ec)) {
      if (!e.is_regular_file()) continue;
      const std::string sha = e.path().stem().string();
      if (!known.count(sha) && old_enough(e.path())) {
        fs::remove(e.path(), ec);
        if (!ec) ++s.orphan_files;
      }
    }
  }
  if (fs::exists(opts_.tmp_dir)) {
    for (const auto& e : fs::directory_iterator(opts_.tmp_dir, ec)) {
      if (e.is_regular_file() && old_enough(e.path())) {
        fs::remove(e.path(), ec);
        if (!ec) ++s.temp_files;
      }
    }
  }
  if (s.runs_removed > 0 && fs::exists(opts_.logs_dir)) {
    for (const auto& e : fs::directory_iterator(opts_.logs_dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.size() < 2 || name[0] != 'j') continue;
      int64_t id = std::atoll(name.c_str() + 1);
      if (id > 0 && !store_.get_job(id)) {
        fs::remove_all(e.path(), ec);
        if (!ec) ++s.log_dirs;
      }
    }
  }
  if (s.orphan_files + s.temp_files + s.runs_removed > 0) {
    spdlog::info("cleaner: {} orphan file(s), {} temp file(s), {} run(s), {} log folder(s) removed",
                 s.orphan_files, s.temp_files, s.runs_removed, s.log_dirs);
  }
  return s;
}

}  // namespace atelier
