// Claiming and keeping leases. A claim is one short transaction: per served
// kind, skip it when paused, cap it by its concurrency limit, pick ready jobs by
// priority then age (the jobs_claim index gives that order; on PostgreSQL
// skipping rows another claim has locked), bump each one's attempt (the fencing
// token) and open its attempt row.
#include <algorithm>

#include "../ids.h"
#include "sql_store.h"

namespace atelier::sql {

namespace {
struct Candidate {
  int64_t id;
  int priority;
};
}  // namespace

std::vector<Lease> SqlStore::claim(const ClaimRequest& req) {
  std::vector<Lease> out;
  if (req.max_jobs <= 0 || req.kinds.empty()) return out;
  const int64_t t = now();
  WriteTxn txn(db_, /*claim=*/true);
  std::vector<Candidate> picked;
  for (const std::string& kind : req.kinds) {
    int capacity = req.max_jobs;
    auto& ctl = db_.stmt("SELECT paused, max_concurrency FROM kind_controls WHERE kind = ?");
    ctl.bind(1, kind);
    if (ctl.executeStep()) {
      bool paused = ctl.getColumn(0).getInt() != 0;
      int limit = ctl.getColumn(1).getInt();
      ctl.reset();
      if (paused) continue;
      if (limit > 0) {
        // Claims of one limited kind take turns, so two cannot both see room.
        db_.lock_in_transaction("limit:" + kind);
        auto& busy = db_.stmt("SELECT COUNT(*) FROM jobs WHERE state = 'leased' AND kind = ?");
        busy.bind(1, kind);
        busy.executeStep();
        int leased = busy.getColumn(0).getInt();
        busy.reset();
        capacity = std::min(capacity, limit - leased);
      }
    }
    if (capacity <= 0) continue;
    // SQLite's claim holds the database's write lock; on PostgreSQL, claims on
    // many hosts run at once and each takes only rows no other claim holds.
    auto& q = db_.engine() == Engine::postgres
                  ? db_.stmt(
                        "SELECT id, priority FROM jobs WHERE state = 'ready' AND kind = ? AND "
                        "run_after <= ? ORDER BY priority DESC, id LIMIT ? FOR UPDATE SKIP LOCKED")
                  : db_.stmt(
                        "SELECT id, priority FROM jobs WHERE state = 'ready' AND kind = ? AND "
                        "run_after <= ? ORDER BY priority DESC, id LIMIT ?");
    q.bind(1, kind);
    q.bind(2, t);
    q.bind(3, capacity);
    while (q.executeStep()) picked.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getInt()});
    q.reset();
  }
  if (picked.empty()) return out;
  std::sort(picked.begin(), picked.end(), [](const Candidate& a, const Candidate& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
  });
  if (picked.size() > static_cast<size_t>(req.max_jobs)) picked.resize(req.max_jobs);

  const int64_t expires = t + req.lease_ms;
  for (const Candidate& c : picked) {
    auto& up = db_.stmt(
        "UPDATE jobs SET state = 'leased', attempt = attempt + 1, lease_owner = ?, "
        "lease_expires_at = ?, started_at = COALESCE(started_at, ?), progress = 0, "
        "progress_msg = '' WHERE id = ? AND state = 'ready' "
        "RETURNING run_id, stage, kind, params, matrix, attempt, max_attempts, timeout_ms");
    up.bind(1, req.worker_id);
    up.bind(2, expires);
    up.bind(3, t);
    up.bind(4, c.id);
    if (!up.executeStep()) continue;
    Lease l;
    l.job_id = c.id;
    l.run_id = up.getColumn(0).getInt64();
    l.stage = up.getColumn(1).getString();
    l.kind = up.getColumn(2).getString();
    l.params = json::parse(up.getColumn(3).getString());
    l.matrix = json::parse(up.getColumn(4).getString());
    l.attempt = up.getColumn(5).getInt();
    l.max_attempts = up.getColumn(6).getInt();
    l.timeout_ms = up.getColumn(7).getInt64();
    l.lease_expires_at = expires;
    l.log_path = req.log_dir + "/" + job_ref(c.id) + "/a" + std::to_string(l.attempt) + ".log";
    up.reset();
    auto& att = db_.stmt(
        "INSERT INTO attempts (job_id, attempt, worker_id, pid, started_at, log_path) "
        "VALUES (?,?,?,?,?,?)");
    att.bind(1, c.id);
    att.bind(2, l.attempt);
    att.bind(3, req.worker_id);
    att.bind(4, req.pid);
    att.bind(5, t);
    att.bind(6, l.log_path);
    att.exec();
    out.push_back(std::move(l));
  }
  txn.commit();
  return out;
}

std::optional<int64_t> SqlStore::next_ready_at(const std::vector<std::string>& kinds) {
  std::optional<int64_t> best;
  for (const std::string& kind : kinds) {
    auto& q = db_.stmt("SELECT MIN(run_after) FROM jobs WHERE state = 'ready' AND kind = ?");
    q.bind(1, kind);
    if (q.executeStep() && !q.getColumn(0).isNull()) {
      int64_t v = q.getColumn(0).getInt64();
      if (!best || v < *best) best = v;
    }
    q.reset();
  }
  return best;
}

HeartbeatResult SqlStore::heartbeat(int64_t job_id, int attempt, int64_t lease_ms,
                                    std::optional<double> progress,
                                    const std::string& progress_msg) {
  HeartbeatResult r;
  auto& up = db_.stmt(
      "UPDATE jobs SET lease_expires_at = ?, progress = COALESCE(?, progress), "
      "progress_msg = CASE WHEN CAST(? AS INTEGER) IS NULL THEN progress_msg ELSE ? END "
      "WHERE id = ? AND attempt = ? AND state = 'leased' RETURNING cancel_requested");
  up.bind(1, now() + lease_ms);
  if (progress) {
    up.bind(2, *progress);
    up.bind(3, 1);
  } else {
    up.bind(2);
    up.bind(3);
  }
  up.bind(4, progress_msg);
  up.bind(5, job_id);
  up.bind(6, attempt);
  if (!up.executeStep()) {
    r.fence = FenceResult::lost;
  } else {
    r.cancel_requested = up.getColumn(0).getInt() != 0;
  }
  up.reset();
  return r;
}

std::vector<Lease> SqlStore::leases_of(const std::string& worker_id) {
  std::vector<Lease> out;
  auto& q = db_.stmt(
      "SELECT id, run_id, stage, kind, attempt, lease_expires_at FROM jobs "
      "WHERE state = 'leased' AND lease_owner = ?");  // leased jobs are few: jobs_claim finds them
  q.bind(1, worker_id);
  while (q.executeStep()) {
    Lease l;
    l.job_id = q.getColumn(0).getInt64();
    l.run_id = q.getColumn(1).getInt64();
    l.stage = q.getColumn(2).getString();
    l.kind = q.getColumn(3).getString();
    l.attempt = q.getColumn(4).getInt();
    l.lease_expires_at = q.getColumn(5).getInt64();
    out.push_back(std::move(l));
  }
  q.reset();
  return out;
}

}  // namespace atelier::sql
