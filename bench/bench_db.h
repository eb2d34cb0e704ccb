// Read-only SQL over a workspace's job database for the figures the Store
// interface does not expose in one query (spans, per-worker counts, per-chain
// timestamps). Times are the DB's epoch milliseconds.
#pragma once
#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace atelier::bench {

struct RunSpan {
  int64_t min_started = 0, max_finished = 0, min_attempt_started = 0;
  int64_t succeeded = 0, attempts = 0, jobs = 0;
};

struct ChainTimes {
  int64_t run_id = 0;
  std::string state;
  int64_t created_at = 0;
  std::optional<int64_t> a_started, a_finished, b_started;
  std::string a_worker, b_worker;
};

class BenchDb {
 public:
  explicit BenchDb(const std::filesystem::path& db_file);

  int64_t registered_workers();
  RunSpan run_span(int64_t run_id);
  std::map<std::string, int64_t> jobs_per_worker(int64_t run_id);
  // Every run of two jobs in stages "a" and "b", by run id.
  std::vector<ChainTimes> chains();

 private:
  SQLite::Database db_;
};

}  // namespace atelier::bench
