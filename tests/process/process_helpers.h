// Helpers shared by the process-level suites: spec text builders and row
// queries over a finished workspace.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "orchestrator/store.h"

namespace atelier::test {

// "[0, 1, ..., n-1]"
inline std::string range_list(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(i);
  return s + "]";
}

// Attempt outcomes per job, without `released` (a claimed job handed back
// unstarted is not an execution).
inline std::map<int64_t, std::vector<std::string>> outcomes_by_job(Store& store, int64_t run) {
  std::map<int64_t, std::vector<std::string>> out;
  for (const AttemptRow& a : store.all_attempts(run))
    if (a.outcome != "released") out[a.job_id].push_back(a.outcome);
  return out;
}

inline std::map<int64_t, int> assets_per_job(Store& store, int64_t run) {
  std::map<int64_t, int> n;
  for (const AssetRow& a : store.list_assets(run)) ++n[*a.job_id];
  return n;
}

inline size_t files_under(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

}  // namespace atelier::test
