// The cleaner: removes what a crash or the retention policy leaves behind.
//  - orphan asset files: in the asset store but named by no asset row, older
//    than the orphan grace (a file younger than that may belong to a job whose
//    completing transaction has not committed yet);
//  - stale temporary files from interrupted writes, past the same grace;
//  - finished runs older than the retention period (their jobs, attempts and
//    lineage rows), then their attempt logs and unreferenced asset rows.
#pragma once
#include <cstdint>
#include <filesystem>

#include "clock.h"
#include "store.h"

namespace atelier {

struct CleanerStats {
  int orphan_files = 0;
  int temp_files = 0;
  int runs_removed = 0;
  int log_dirs = 0;
};

struct CleanerOptions {
  std::filesystem::path assets_dir, tmp_dir, logs_dir;
  int64_t orphan_grace_ms = 3'600'000;
  int retention_days = 30;  // 0: keep runs forever
};

class Cleaner {
 public:
  Cleaner(Store& store, const Clock& clock, CleanerOptions opts)
      : store_(store), clock_(clock), opts_(std::move(opts)) {}
  CleanerStats run_once();

 private:
  bool old_enough(const std::filesystem::path& p) const;
  Store& store_;
  const Clock& clock_;
  CleanerOptions opts_;
};

}  // namespace atelier
