// The models table: registration by content hash and lookup by hash or name.
#include "sql_store.h"

namespace atelier::sql {

namespace {
ModelRow read_model(Statement& q) {
  ModelRow m;
  m.sha256 = q.getColumn(0).getString();
  m.kind = q.getColumn(1).getString();
  m.name = q.getColumn(2).getString();
  m.params = json::parse(q.getColumn(3).getString());
  if (!q.getColumn(4).isNull()) m.job_id = q.getColumn(4).getInt64();
  if (!q.getColumn(5).isNull()) m.path = q.getColumn(5).getString();
  m.created_at = q.getColumn(6).getInt64();
  return m;
}
}  // namespace

void SqlStore::register_model(const ModelRow& m) {
  auto& ins = db_.stmt(
      "INSERT INTO models (sha256, kind, name, params, job_id, path, created_at) "
      "VALUES (?,?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET "
      "path = COALESCE(models.path, excluded.path)");
  ins.bind(1, m.sha256);
  ins.bind(2, m.kind);
  ins.bind(3, m.name);
  ins.bind(4, m.params.dump());
  bind_opt(ins, 5, m.job_id);
  bind_opt(ins, 6, m.path);
  ins.bind(7, m.created_at ? m.created_at : now());
  ins.exec();
}

std::optional<ModelRow> SqlStore::find_model(const std::string& key) {
  auto& q = db_.stmt(
      "SELECT sha256, kind, name, params, job_id, path, created_at FROM models "
      "WHERE sha256 = ?1 OR name = ?1 ORDER BY sha256 = ?1 DESC, created_at DESC, sha256 DESC "
      "LIMIT 1");
  q.bind(1, key);
  std::optional<ModelRow> m;
  if (q.executeStep()) m = read_model(q);
  q.reset();  // a statement left mid-result holds its read snapshot open
  return m;
}

std::vector<ModelRow> SqlStore::list_models() {
  auto& q = db_.stmt(
      "SELECT sha256, kind, name, params, job_id, path, created_at FROM models "
      "ORDER BY created_at, sha256");
  std::vector<ModelRow> out;
  while (q.executeStep()) out.push_back(read_model(q));
  return out;
}

}  // namespace atelier::sql
