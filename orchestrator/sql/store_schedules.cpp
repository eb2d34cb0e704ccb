// The schedules and schedule_fires tables (schema/0001_init.sql,
// 0005_schedules_tokens_audit.sql). A fire is recorded once per (schedule,
// scheduled instant): the primary key arbitrates between serve processes, and
// advance_schedule moves next_fire_at only from the value the caller read.
#include "common/errors.h"
#include "sql_store.h"

namespace atelier::sql {

namespace {

#define SCHEDULE_COLUMNS                                                                   \
  "name, cron, timezone, spec_path, params, missed, enabled, next_fire_at, last_fire_at, " \
  "created_at, created_by, confined"

std::optional<int64_t> opt_int(Statement& q, int col) {
  if (q.getColumn(col).isNull()) return std::nullopt;
  return q.getColumn(col).getInt64();
}

ScheduleRow read_schedule(Statement& q) {
  ScheduleRow s;
  s.name = q.getColumn(0).getString();
  s.cron = q.getColumn(1).getString();
  s.timezone = q.getColumn(2).getString();
  s.spec_path = q.getColumn(3).getString();
  s.params = json::parse(q.getColumn(4).getString(), nullptr, false);
  if (!s.params.is_object()) s.params = json::object();
  s.missed = q.getColumn(5).getString();
  s.enabled = q.getColumn(6).getInt() != 0;
  s.next_fire_at = opt_int(q, 7);
  s.last_fire_at = opt_int(q, 8);
  s.created_at = q.getColumn(9).getInt64();
  s.created_by = q.getColumn(10).getString();
  s.confined = q.getColumn(11).getInt() != 0;
  return s;
}

ScheduleFire read_fire(Statement& q) {
  ScheduleFire f;
  f.schedule = q.getColumn(0).getString();
  f.fire_at = q.getColumn(1).getInt64();
  f.fired_at = q.getColumn(2).getInt64();
  f.outcome = q.getColumn(3).getString();
  f.run_id = opt_int(q, 4);
  f.detail = q.getColumn(5).getString();
  return f;
}

}  // namespace

void SqlStore::add_schedule(const ScheduleRow& s) {
  WriteTxn txn(db_);
  if (get_schedule(s.name))
    throw InputError("schedule '" + s.name +
                     "' exists already (remove it first: atelier schedule rm " + s.name + ")");
  auto& ins =
      db_.stmt("INSERT INTO schedules (" SCHEDULE_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, s.name);
  ins.bind(2, s.cron);
  ins.bind(3, s.timezone);
  ins.bind(4, s.spec_path);
  ins.bind(5, s.params.dump());
  ins.bind(6, s.missed);
  ins.bind(7, s.enabled ? 1 : 0);
  if (s.next_fire_at) ins.bind(8, *s.next_fire_at);
  if (s.last_fire_at) ins.bind(9, *s.last_fire_at);
  ins.bind(10, s.created_at ? s.created_at : now());
  ins.bind(11, s.created_by);
  ins.bind(12, s.confined ? 1 : 0);
  ins.exec();
  ins.reset();
  txn.commit();
}

std::vector<ScheduleRow> SqlStore::list_schedules() {
  auto& q = db_.stmt("SELECT " SCHEDULE_COLUMNS " FROM schedules ORDER BY name");
  std::vector<ScheduleRow> out;
  while (q.executeStep()) out.push_back(read_schedule(q));
  q.reset();
  return out;
}

std::optional<ScheduleRow> SqlStore::get_schedule(const std::string& name) {
  auto& q = db_.stmt("SELECT " SCHEDULE_COLUMNS " FROM schedules WHERE name = ?");
  q.bind(1, name);
  std::optional<ScheduleRow> s;
  if (q.executeStep()) s = read_schedule(q);
  q.reset();
  return s;
}

bool SqlStore::remove_schedule(const std::string& name) {
  auto& del = db_.stmt("DELETE FROM schedules WHERE name = ?");
  del.bind(1, name);
  return del.exec() > 0;
}

bool SqlStore::advance_schedule(const std::string& name, std::optional<int64_t> expected,
                                int64_t next, std::optional<int64_t> last_fire) {
  auto& up = db_.stmt(
      "UPDATE schedules SET next_fire_at = ?, last_fire_at = COALESCE(?, last_fire_at) "
      "WHERE name = ? AND next_fire_at IS NOT DISTINCT FROM CAST(? AS BIGINT)");
  up.bind(1, next);
  if (last_fire) up.bind(2, *last_fire);
  up.bind(3, name);
  if (expected) up.bind(4, *expected);
  return up.exec() > 0;
}

bool SqlStore::record_fire(const ScheduleFire& f) {
  auto& ins = db_.stmt(
      "INSERT INTO schedule_fires (schedule, fire_at, fired_at, outcome, run_id, detail) "
      "VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING");
  ins.bind(1, f.schedule);
  ins.bind(2, f.fire_at);
  ins.bind(3, f.fired_at ? f.fired_at : now());
  ins.bind(4, f.outcome);
  if (f.run_id) ins.bind(5, *f.run_id);
  ins.bind(6, f.detail);
  return ins.exec() > 0;
}

std::optional<ScheduleFire> SqlStore::find_fire(const std::string& schedule, int64_t fire_at) {
  auto& q = db_.stmt(
      "SELECT schedule, fire_at, fired_at, outcome, run_id, detail FROM schedule_fires "
      "WHERE schedule = ? AND fire_at = ?");
  q.bind(1, schedule);
  q.bind(2, fire_at);
  std::optional<ScheduleFire> f;
  if (q.executeStep()) f = read_fire(q);
  q.reset();
  return f;
}

std::vector<ScheduleFire> SqlStore::schedule_fires(const std::string& schedule, int limit) {
  auto& q = db_.stmt(
      "SELECT schedule, fire_at, fired_at, outcome, run_id, detail FROM schedule_fires "
      "WHERE ? = '' OR schedule = ? ORDER BY fire_at DESC, schedule LIMIT ?");
  q.bind(1, schedule);
  q.bind(2, schedule);
  q.bind(3, limit);
  std::vector<ScheduleFire> out;
  while (q.executeStep()) out.push_back(read_fire(q));
  q.reset();
  return out;
}

}  // namespace atelier::sql
