// A full disk (docs/queue.md "A full disk"): jobs that met one wait for space
// without spending attempts, the folders seen full (disk_full table), their
// release when space comes back, and the revival of jobs that died of a full
// disk before it was a class of its own.
// Invariants: a job waits for space exactly when it is ready and its current
// attempt ended `disk_full`; a disk_full row goes only when space is back
// (a probe, or a job that had waited for space completing on that host), and
// every job waiting for space is then claimable at once.
#include <algorithm>
#include <set>

#include "../disk_space.h"
#include "sql_store.h"

namespace atelier::sql {

FenceResult SqlStore::wait_for_space(int64_t job_id, int attempt, const DiskFullRow& seen) {
  bool made_ready = false;
  WriteTxn txn(db_);
  const FenceResult r = fail_in_txn(job_id, attempt, FailKind::disk_full, seen.error, made_ready);
  if (r == FenceResult::ok) {
    const int64_t t = now();
    auto& up = db_.stmt(
        "INSERT INTO disk_full (host, path, error, free_bytes, since, seen_at) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT (host, path) DO UPDATE SET error = excluded.error, "
        "free_bytes = excluded.free_bytes, seen_at = excluded.seen_at");
    up.bind(1, seen.host);
    up.bind(2, seen.path);
    up.bind(3, seen.error);
    up.bind(4, seen.free_bytes);
    up.bind(5, t);
    up.bind(6, t);
    up.exec();
  }
  txn.commit();
  if (made_ready) notify_ready();
  return r;
}

std::vector<DiskFullRow> SqlStore::disk_full() {
  auto& q = db_.stmt(
      "SELECT host, path, error, free_bytes, since, seen_at FROM disk_full ORDER BY since, path");
  std::vector<DiskFullRow> out;
  while (q.executeStep()) {
    DiskFullRow d;
    d.host = q.getColumn(0).getString();
    d.path = q.getColumn(1).getString();
    d.error = q.getColumn(2).getString();
    d.free_bytes = q.getColumn(3).getInt64();
    d.since = q.getColumn(4).getInt64();
    d.seen_at = q.getColumn(5).getInt64();
    out.push_back(std::move(d));
  }
  q.reset();
  return out;
}

int SqlStore::release_waiting_for_space() {
  const int64_t t = now();
  auto& up = db_.stmt(
      "UPDATE jobs SET run_after = ?1 WHERE state = 'ready' AND run_after > ?1 AND EXISTS "
      "(SELECT 1 FROM attempts a WHERE a.job_id = jobs.id AND a.attempt = jobs.attempt "
      "AND a.outcome = 'disk_full')");
  up.bind(1, t);
  up.exec();
  return static_cast<int>(db_.changes());
}

int SqlStore::space_returned(const std::string& host, const std::string& path) {
  WriteTxn txn(db_);
  auto& del = db_.stmt("DELETE FROM disk_full WHERE host = ? AND path = ?");
  del.bind(1, host);
  del.bind(2, path);
  del.exec();
  if (db_.changes() == 0) return -1;  // another worker saw it first (the txn rolls back)
  const int released = release_waiting_for_space();
  txn.commit();
  if (released > 0) notify_ready();
  return released;
}

void SqlStore::note_space_back(int64_t job_id, int attempt, bool& released) {
  auto& prev = db_.stmt(
      "SELECT outcome FROM attempts WHERE job_id = ? AND attempt < ? AND outcome <> 'released' "
      "ORDER BY attempt DESC LIMIT 1");
  prev.bind(1, job_id);
  prev.bind(2, attempt);
  const bool waited = prev.executeStep() && prev.getColumn(0).getString() == "disk_full";
  prev.reset();
  if (!waited) return;
  // The host is the one of the worker that just completed it ("host:pid").
  auto& who = db_.stmt("SELECT worker_id FROM attempts WHERE job_id = ? AND attempt = ?");
  who.bind(1, job_id);
  who.bind(2, attempt);
  std::string host = who.executeStep() ? who.getColumn(0).getString() : "";
  who.reset();
  host = host.substr(0, host.rfind(':'));
  auto& del = db_.stmt("DELETE FROM disk_full WHERE host = ?");
  del.bind(1, host);
  del.exec();
  if (db_.changes() > 0 && release_waiting_for_space() > 0) released = true;
}

int64_t SqlStore::waiting_for_space(std::optional<int64_t> run_id) {
  const std::vector<IdRange> ranges =
      run_id ? ranges_of(*run_id) : std::vector<IdRange>{{1, INT64_MAX}};
  int64_t n = 0;
  for (const IdRange& r : ranges) {
    auto& q = db_.stmt(
        "SELECT COUNT(*) FROM jobs j JOIN attempts a ON a.job_id = j.id AND a.attempt = j.attempt "
        "WHERE j.state = 'ready' AND j.id BETWEEN ? AND ? AND a.outcome = 'disk_full'");
    q.bind(1, r.first);
    q.bind(2, r.last);
    if (q.executeStep()) n += q.getColumn(0).getInt64();
    q.reset();
  }
  return n;
}

int SqlStore::revive_disk_full(int64_t run_id) {
  WriteTxn txn(db_);
  std::set<int64_t> revive;
  for (const IdRange& r : ranges_of(run_id)) {
    auto& q = db_.stmt(
        "SELECT id, error FROM jobs WHERE id BETWEEN ? AND ? AND state = 'dead' "
        "AND error IS NOT NULL");
    q.bind(1, r.first);
    q.bind(2, r.last);
    while (q.executeStep())
      if (is_disk_full_message(q.getColumn(1).getString()))
        revive.insert(q.getColumn(0).getInt64());
    q.reset();
  }
  if (revive.empty()) return 0;
  // The jobs skipped because of them come back too, but only those whose every
  // dependency succeeded or comes back: one that another dead job holds would
  // otherwise wait for ever.
  std::set<int64_t> skipped;
  for (int64_t id : revive) {
    auto& q = db_.stmt(
        "WITH RECURSIVE down(id) AS (SELECT job_id FROM job_deps WHERE dep_id = ? "
        "UNION SELECT d.job_id FROM job_deps d JOIN down ON d.dep_id = down.id) "
        "SELECT id FROM jobs WHERE id IN (SELECT id FROM down) AND state = 'skipped'");
    q.bind(1, id);
    while (q.executeStep()) skipped.insert(q.getColumn(0).getInt64());
    q.reset();
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (auto it = skipped.begin(); it != skipped.end();) {
      bool ok = true;
      auto& deps = db_.stmt(
          "SELECT p.id, p.state FROM job_deps d JOIN jobs p ON p.id = d.dep_id WHERE d.job_id = ?");
      deps.bind(1, *it);
      while (deps.executeStep())
        if (deps.getColumn(1).getString() != "succeeded" &&
            !revive.count(deps.getColumn(0).getInt64()))
          ok = false;
      deps.reset();
      if (ok) {
        revive.insert(*it);
        it = skipped.erase(it);
        grew = true;
      } else {
        ++it;
      }
    }
  }
  const int n = requeue(run_id, std::vector<int64_t>(revive.begin(), revive.end()));
  txn.commit();
  if (n > 0) notify_ready();
  return n;
}

}  // namespace atelier::sql
