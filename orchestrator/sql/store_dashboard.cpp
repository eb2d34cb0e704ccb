// The dashboard's reads (counts, throughput, workers, durations) and its
// sessions. Counts over all jobs scan an index of the whole table; the
// dashboard caches them briefly (dashboard/views.cpp) rather than keeping
// counters on the queue's hot path.
#include "sql_store.h"

namespace atelier::sql {

std::vector<StateCount> SqlStore::run_counts() {
  auto& q = db_.stmt("SELECT state, COUNT(*) FROM runs GROUP BY state ORDER BY state");
  std::vector<StateCount> out;
  while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64()});
  q.reset();
  return out;
}

namespace {
std::vector<KindStateCount> read_kind_state_counts(Statement& q) {
  std::vector<KindStateCount> out;
  while (q.executeStep())
    out.push_back(
        {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64()});
  q.reset();
  return out;
}
}  // namespace

std::vector<KindStateCount> SqlStore::job_counts_by_kind() {
  return read_kind_state_counts(
      db_.stmt("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state"));
}

std::vector<KindStateCount> SqlStore::unfinished_counts_by_kind() {
  return read_kind_state_counts(
      db_.stmt("SELECT kind, state, COUNT(*) FROM jobs WHERE state IN ('waiting', 'ready', "
               "'leased') GROUP BY kind, state ORDER BY kind, state"));
}

std::vector<ThroughputBucket> SqlStore::throughput(int64_t since_ms, int64_t bucket_ms) {
  auto& q = db_.stmt(
      "SELECT (finished_at - ?1) / ?2, SUM(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) FROM jobs "
      "WHERE finished_at IS NOT NULL AND finished_at >= ?1 GROUP BY 1 ORDER BY 1");
  q.bind(1, since_ms);
  q.bind(2, bucket_ms);
  std::vector<ThroughputBucket> out;
  while (q.executeStep())
    out.push_back({since_ms + q.getColumn(0).getInt64() * bucket_ms, q.getColumn(1).getInt64(),
                   q.getColumn(2).getInt64()});
  q.reset();
  return out;
}

std::vector<WorkerRow> SqlStore::list_workers() {
  auto& q = db_.stmt(
      "SELECT id, host, kinds, state, pid, current_job, started_at, heartbeat_at FROM workers "
      "WHERE state <> 'gone' ORDER BY started_at, id");
  std::vector<WorkerRow> out;
  while (q.executeStep()) {
    WorkerRow w;
    w.id = q.getColumn(0).getString();
    w.host = q.getColumn(1).getString();
    w.kinds = q.getColumn(2).getString();
    w.state = q.getColumn(3).getString();
    w.pid = q.getColumn(4).getInt();
    if (!q.getColumn(5).isNull()) w.current_job = q.getColumn(5).getInt64();
    w.started_at = q.getColumn(6).getInt64();
    w.heartbeat_at = q.getColumn(7).getInt64();
    out.push_back(std::move(w));
  }
  q.reset();
  return out;
}

std::vector<KindDuration> SqlStore::job_durations() {
  auto& q = db_.stmt(
      "SELECT kind, COUNT(*), COALESCE(SUM(finished_at - started_at), 0) FROM jobs "
      "WHERE state = 'succeeded' AND started_at IS NOT NULL GROUP BY kind ORDER BY kind");
  std::vector<KindDuration> out;
  while (q.executeStep())
    out.push_back(
        {q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt64()});
  q.reset();
  return out;
}

void SqlStore::add_session(const SessionRow& s) {
  auto& ins = db_.stmt(
      "INSERT INTO sessions (id_hash, token_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)");
  ins.bind(1, s.id_hash);
  ins.bind(2, s.token_id);
  ins.bind(3, s.csrf);
  ins.bind(4, s.created_at);
  ins.bind(5, s.expires_at);
  ins.exec();
}

std::optional<SessionRow> SqlStore::find_session(const std::string& id_hash, int64_t now_ms) {
  auto& q = db_.stmt(
      "SELECT s.id_hash, s.token_id, s.csrf, s.created_at, s.expires_at, t.name, t.role "
      "FROM sessions s JOIN tokens t ON t.id = s.token_id "
      "WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL");
  q.bind(1, id_hash);
  q.bind(2, now_ms);
  std::optional<SessionRow> out;
  if (q.executeStep())
    out = SessionRow{q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                     q.getColumn(2).getString(), q.getColumn(3).getInt64(),
                     q.getColumn(4).getInt64(),  q.getColumn(5).getString(),
                     q.getColumn(6).getString()};
  q.reset();
  return out;
}

void SqlStore::remove_session(const std::string& id_hash) {
  auto& del = db_.stmt("DELETE FROM sessions WHERE id_hash = ? OR expires_at < ?");
  del.bind(1, id_hash);
  del.bind(2, now());
  del.exec();
}

namespace {
NotificationRow read_notification(Statement& q) {
  NotificationRow n;
  n.id = q.getColumn(0).getInt64();
  n.run_id = q.getColumn(1).getInt64();
  n.url = q.getColumn(2).getString();
  const json on = json::parse(q.getColumn(3).getString(), nullptr, false);
  if (on.is_array())
    for (const json& v : on)
      if (v.is_string()) n.on.push_back(v.get<std::string>());
  n.state = q.getColumn(4).getString();
  n.attempts = q.getColumn(5).getInt();
  n.next_at = q.getColumn(6).getInt64();
  n.last_error = q.getColumn(7).getString();
  n.run_state = q.getColumn(8).getString();
  return n;
}
#define NOTIFICATION_COLUMNS \
  "n.id, n.run_id, n.url, n.on_states, n.state, n.attempts, n.next_at, n.last_error, r.state"
}  // namespace

std::vector<NotificationRow> SqlStore::due_notifications(int64_t now_ms, int limit) {
  auto& q = db_.stmt("SELECT " NOTIFICATION_COLUMNS
                     " FROM notifications n JOIN runs r ON r.id = n.run_id "
                     "WHERE n.state = 'waiting' AND n.next_at <= ? AND r.state <> 'running' "
                     "ORDER BY n.next_at, n.id LIMIT ?");
  q.bind(1, now_ms);
  q.bind(2, limit);
  std::vector<NotificationRow> out;
  while (q.executeStep()) out.push_back(read_notification(q));
  q.reset();
  return out;
}

bool SqlStore::take_notification(int64_t id, int64_t expected_next_at, int64_t lease_until) {
  auto& up = db_.stmt(
      "UPDATE notifications SET next_at = ? WHERE id = ? AND next_at = ? AND state = 'waiting'");
  up.bind(1, lease_until);
  up.bind(2, id);
  up.bind(3, expected_next_at);
  return up.exec() > 0;
}

void SqlStore::settle_notification(int64_t id, const std::string& state, int attempts,
                                   int64_t next_at, const std::string& error) {
  auto& up = db_.stmt(
      "UPDATE notifications SET state = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?");
  up.bind(1, state);
  up.bind(2, attempts);
  up.bind(3, next_at);
  up.bind(4, error);
  up.bind(5, id);
  up.exec();
}

std::vector<NotificationRow> SqlStore::run_notifications(int64_t run_id) {
  auto& q = db_.stmt("SELECT " NOTIFICATION_COLUMNS
                     " FROM notifications n JOIN runs r ON r.id = n.run_id WHERE n.run_id = ? "
                     "ORDER BY n.id");
  q.bind(1, run_id);
  std::vector<NotificationRow> out;
  while (q.executeStep()) out.push_back(read_notification(q));
  q.reset();
  return out;
}

}  // namespace atelier::sql
