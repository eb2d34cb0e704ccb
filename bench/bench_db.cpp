// Read-only queries for the benchmark's DB-side figures.
#include "bench_db.h"

namespace atelier::bench {

namespace {
std::optional<int64_t> opt_int(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}
}  // namespace

BenchDb::BenchDb(const std::filesystem::path& db_file)
    : db_(db_file.string(), SQLite::OPEN_READONLY, 60'000) {}

int64_t BenchDb::registered_workers() {
  return db_.execAndGet("SELECT COUNT(*) FROM workers").getInt64();
}

RunSpan BenchDb::run_span(int64_t run_id) {
  RunSpan s;
  SQLite::Statement q(db_,
                      "SELECT MIN(started_at), MAX(finished_at), "
                      "SUM(state = 'succeeded'), COUNT(*) FROM jobs WHERE run_id = ?");
  q.bind(1, run_id);
  if (q.executeStep()) {
    s.min_started = q.getColumn(0).isNull() ? 0 : q.getColumn(0).getInt64();
    s.max_finished = q.getColumn(1).isNull() ? 0 : q.getColumn(1).getInt64();
    s.succeeded = q.getColumn(2).isNull() ? 0 : q.getColumn(2).getInt64();
    s.jobs = q.getColumn(3).getInt64();
  }
  SQLite::Statement a(db_,
                      "SELECT COUNT(*), MIN(a.started_at) FROM attempts a "
                      "JOIN jobs j ON j.id = a.job_id WHERE j.run_id = ?");
  a.bind(1, run_id);
  if (a.executeStep()) {
    s.attempts = a.getColumn(0).getInt64();
    s.min_attempt_started = a.getColumn(1).isNull() ? 0 : a.getColumn(1).getInt64();
  }
  return s;
}

std::map<std::string, int64_t> BenchDb::jobs_per_worker(int64_t run_id) {
  std::map<std::string, int64_t> out;
  SQLite::Statement q(db_,
                      "SELECT a.worker_id, COUNT(*) FROM attempts a JOIN jobs j ON j.id = a.job_id "
                      "WHERE j.run_id = ? AND a.outcome = 'succeeded' GROUP BY a.worker_id");
  q.bind(1, run_id);
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
  return out;
}

std::vector<ChainTimes> BenchDb::chains() {
  std::vector<ChainTimes> out;
  SQLite::Statement q(db_,
                      "SELECT r.id, r.state, r.created_at, aa.started_at, ja.finished_at, "
                      "ab.started_at, aa.worker_id, ab.worker_id "
                      "FROM runs r "
                      "JOIN jobs ja ON ja.run_id = r.id AND ja.stage = 'a' "
                      "JOIN jobs jb ON jb.run_id = r.id AND jb.stage = 'b' "
                      "LEFT JOIN attempts aa ON aa.job_id = ja.id AND aa.attempt = 1 "
                      "LEFT JOIN attempts ab ON ab.job_id = jb.id AND ab.attempt = 1 "
                      "ORDER BY r.id");
  while (q.executeStep()) {
    ChainTimes c;
    c.run_id = q.getColumn(0).getInt64();
    c.state = q.getColumn(1).getString();
    c.created_at = q.getColumn(2).getInt64();
    c.a_started = opt_int(q.getColumn(3));
    c.a_finished = opt_int(q.getColumn(4));
    c.b_started = opt_int(q.getColumn(5));
    c.a_worker = q.getColumn(6).isNull() ? "" : q.getColumn(6).getString();
    c.b_worker = q.getColumn(7).isNull() ? "" : q.getColumn(7).getString();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace atelier::bench
