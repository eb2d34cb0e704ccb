// Helpers shared by the process-level suites: spec text builders, row queries
// over a finished workspace, and reading what a command or job wrote.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "orchestrator/asset_store.h"
#include "orchestrator/store.h"
#include "support/process.h"
#include "support/test_workspace.h"

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

// Where the workspace keeps an asset's bytes.
inline std::filesystem::path asset_file(TempWorkspace& tw, const AssetRow& a) {
  return AssetStore(tw.ws().assets_dir(), tw.ws().tmp_dir()).path_for(a.sha256, a.ext);
}

inline std::string read_file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// A command's --json output; a test failure (and an empty object) when it is not JSON.
inline nlohmann::json parse_out(const ProcResult& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception&) {
    ADD_FAILURE() << "not JSON: " << r.out << r.err;
    return nlohmann::json::object();
  }
}

}  // namespace atelier::test
