// Operator actions (cancel, retry, pause, limits), the audit log and the
// worker registry. Cancelling a leased job only sets cancel_requested: the
// worker sees it at its next heartbeat (cooperative), and the supervisor
// signals the process after the grace period (enforced).
#include "../audit_chain.h"
#include "../ids.h"
#include "common/errors.h"
#include "sql_store.h"

namespace atelier::sql {

int SqlStore::cancel_run(int64_t run_id) {
  const int64_t t = now();
  WriteTxn txn(db_);
  int n = 0, requested = 0;
  for (const IdRange& r : ranges_of(run_id)) {
    auto& up = db_.stmt(
        "UPDATE jobs SET state = 'cancelled', finished_at = ?, error = 'cancelled' "
        "WHERE id BETWEEN ? AND ? AND state IN ('waiting', 'ready')");
    up.bind(1, t);
    up.bind(2, r.first);
    up.bind(3, r.last);
    up.exec();
    n += static_cast<int>(db_.changes());
    auto& req = db_.stmt(
        "UPDATE jobs SET cancel_requested = 1, cancel_requested_at = ? "
        "WHERE id BETWEEN ? AND ? AND state = 'leased' AND cancel_requested = 0");
    req.bind(1, t);
    req.bind(2, r.first);
    req.bind(3, r.last);
    req.exec();
    requested += static_cast<int>(db_.changes());
  }
  add_unfinished(run_id, -n);
  n += requested;
  finish_run_if_done(run_id);
  txn.commit();
  return n;
}

int SqlStore::cancel_job(int64_t job_id) {
  const int64_t t = now();
  WriteTxn txn(db_);
  auto& q = db_.stmt("SELECT state, run_id FROM jobs WHERE id = ?");
  q.bind(1, job_id);
  if (!q.executeStep()) {
    q.reset();
    throw NotFound("no such job: " + job_ref(job_id));
  }
  const std::string state = q.getColumn(0).getString();
  const int64_t run_id = q.getColumn(1).getInt64();
  q.reset();
  int n = 0;
  if (state == "waiting" || state == "ready") {
    auto& up = db_.stmt(
        "UPDATE jobs SET state = 'cancelled', finished_at = ?, error = 'cancelled' WHERE id = ?");
    up.bind(1, t);
    up.bind(2, job_id);
    up.exec();
    add_unfinished(run_id, -1 - skip_downstream(job_id));
    finish_run_if_done(run_id);
    n = 1;
  } else if (state == "leased") {
    auto& up = db_.stmt(
        "UPDATE jobs SET cancel_requested = 1, cancel_requested_at = ? "
        "WHERE id = ? AND cancel_requested = 0");
    up.bind(1, t);
    up.bind(2, job_id);
    up.exec();
    n = static_cast<int>(db_.changes());
  }
  txn.commit();
  return n;
}

int SqlStore::requeue(int64_t run_id, const std::vector<int64_t>& ids) {
  const int n = reset_jobs(ids);
  if (n > 0) {
    auto& up = db_.stmt("UPDATE runs SET state = 'running', finished_at = NULL WHERE id = ?");
    up.bind(1, run_id);
    up.exec();
    add_unfinished(run_id, n);
  }
  return n;
}

int SqlStore::reset_jobs(const std::vector<int64_t>& ids) {
  int n = 0;
  for (int64_t id : ids) {
    auto& up = db_.stmt(
        "UPDATE jobs SET failures = 0, error = NULL, cancel_requested = 0, "
        "cancel_requested_at = NULL, finished_at = NULL, run_after = ?, progress = 0, "
        "progress_msg = '', deps_left = (SELECT COUNT(*) FROM job_deps d JOIN jobs p "
        "ON p.id = d.dep_id WHERE d.job_id = jobs.id AND p.state != 'succeeded'), "
        "state = CASE WHEN EXISTS (SELECT 1 FROM job_deps d JOIN jobs p "
        "ON p.id = d.dep_id WHERE d.job_id = jobs.id AND p.state != 'succeeded') "
        "THEN 'waiting' ELSE 'ready' END "
        "WHERE id = ? AND state IN ('dead', 'cancelled', 'skipped')");
    up.bind(1, now());
    up.bind(2, id);
    up.exec();
    n += static_cast<int>(db_.changes());
  }
  return n;
}

int SqlStore::retry_run(int64_t run_id) {
  WriteTxn txn(db_);
  if (!get_run(run_id)) throw NotFound("no such run: " + run_ref(run_id));
  std::vector<int64_t> ids;
  // Upstream first, so a job's reset sees its dependencies already reset.
  for (const IdRange& r : ranges_of(run_id)) {
    auto& q = db_.stmt(
        "SELECT id FROM jobs WHERE id BETWEEN ? AND ? AND state IN ('dead','cancelled','skipped') "
        "ORDER BY id");
    q.bind(1, r.first);
    q.bind(2, r.last);
    while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
    q.reset();
  }
  const int n = requeue(run_id, ids);
  txn.commit();
  if (n > 0) notify_ready();
  return n;
}

int SqlStore::retry_job(int64_t job_id) {
  WriteTxn txn(db_);
  auto job = get_job(job_id);
  if (!job) throw NotFound("no such job: " + job_ref(job_id));
  std::vector<int64_t> ids{job_id};
  // Its downstream jobs that were skipped or cancelled because of it come back too.
  auto& q = db_.stmt(
      "WITH RECURSIVE down(id) AS (SELECT job_id FROM job_deps WHERE dep_id = ? "
      "UNION SELECT d.job_id FROM job_deps d JOIN down ON d.dep_id = down.id) "
      "SELECT id FROM jobs WHERE id IN (SELECT id FROM down) "
      "AND state IN ('skipped','cancelled') ORDER BY id");
  q.bind(1, job_id);
  while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());
  q.reset();
  const int n = requeue(job->run_id, ids);
  txn.commit();
  if (n > 0) notify_ready();
  return n;
}

void SqlStore::set_paused(const std::string& kind, bool paused) {
  auto& up = db_.stmt(
      "INSERT INTO kind_controls (kind, paused) VALUES (?, ?) "
      "ON CONFLICT(kind) DO UPDATE SET paused = excluded.paused");
  up.bind(1, kind);
  up.bind(2, paused ? 1 : 0);
  up.exec();
  if (!paused) notify_ready();
}

void SqlStore::set_limit(const std::string& kind, int max_concurrency) {
  auto& up = db_.stmt(
      "INSERT INTO kind_controls (kind, max_concurrency) VALUES (?, ?) "
      "ON CONFLICT(kind) DO UPDATE SET max_concurrency = excluded.max_concurrency");
  up.bind(1, kind);
  up.bind(2, max_concurrency);
  up.exec();
}

std::vector<std::string> SqlStore::paused_kinds() {
  std::vector<std::string> out;
  auto& q = db_.stmt("SELECT kind FROM kind_controls WHERE paused = 1 ORDER BY kind");
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  q.reset();
  return out;
}

void SqlStore::audit(const std::string& actor, const std::string& action, const std::string& target,
                     const json& details) {
  // The chain needs the previous entry's hash and this entry's id before the
  // insert: both are read and written in one write transaction, so entries
  // from concurrent processes still form one line.
  WriteTxn txn(db_);
  int64_t last_id = 0;
  std::string prev;
  {
    auto& q = db_.stmt("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1");
    if (q.executeStep()) {
      last_id = q.getColumn(0).getInt64();
      prev = q.getColumn(1).isNull() ? "" : q.getColumn(1).getString();
    }
    q.reset();
  }
  const int64_t id = last_id + 1, at = now();
  const std::string text = details.dump();
  auto& ins = db_.stmt(
      "INSERT INTO events (id, at, actor, action, target, details, prev_hash, hash) "
      "VALUES (?,?,?,?,?,?,?,?)");
  ins.bind(1, id);
  ins.bind(2, at);
  ins.bind(3, actor);
  ins.bind(4, action);
  ins.bind(5, target);
  ins.bind(6, text);
  ins.bind(7, prev);
  ins.bind(8, audit_entry_hash(prev, id, at, actor, action, target, text));
  ins.exec();
  ins.reset();
  txn.commit();
}

void SqlStore::register_worker(const WorkerInfo& w) {
  auto& ins = db_.stmt(
      "INSERT INTO workers (id, host, pid, kinds, state, started_at, heartbeat_at) "
      "VALUES (?,?,?,?, 'idle', ?, ?) ON CONFLICT (id) DO UPDATE SET host = excluded.host, "
      "pid = excluded.pid, kinds = excluded.kinds, state = 'idle', current_job = NULL, "
      "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at");
  ins.bind(1, w.id);
  ins.bind(2, w.host);
  ins.bind(3, w.pid);
  ins.bind(4, w.kinds);
  ins.bind(5, now());
  ins.bind(6, now());
  ins.exec();
}

void SqlStore::worker_heartbeat(const std::string& id, const std::string& state,
                                std::optional<int64_t> current_job) {
  auto& up =
      db_.stmt("UPDATE workers SET state = ?, current_job = ?, heartbeat_at = ? WHERE id = ?");
  up.bind(1, state);
  bind_opt(up, 2, current_job);
  up.bind(3, now());
  up.bind(4, id);
  up.exec();
}

void SqlStore::unregister_worker(const std::string& id) {
  auto& del = db_.stmt("DELETE FROM workers WHERE id = ?");
  del.bind(1, id);
  del.exec();
}

}  // namespace atelier::sql
