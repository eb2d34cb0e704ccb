// The registry of protected works and the verdicts of the check kind (their rows
// are written with the job's completion, in sqlite_finish.cpp).
#include "sql_store.h"

namespace atelier::sql {

namespace {

#define REGISTRY_COLUMNS \
  "id, label, sha256, source_path, width, height, phash, phash_quality, colour, added_at"

RegistryEntry read_entry(Statement& q) {
  RegistryEntry e;
  e.id = q.getColumn(0).getInt64();
  e.label = q.getColumn(1).getString();
  e.sha256 = q.getColumn(2).getString();
  e.source_path = q.getColumn(3).getString();
  e.width = q.getColumn(4).getInt();
  e.height = q.getColumn(5).getInt();
  e.hashes = {q.getColumn(6).getString(), q.getColumn(7).getInt(), q.getColumn(8).getString()};
  e.added_at = q.getColumn(9).getInt64();
  return e;
}

#define CHECK_COLUMNS                                                                    \
  "id, sha256, run_id, job_id, check_kind, verdict, score, details, gate, quarantined, " \
  "created_at"

CheckRow read_check(Statement& q) {
  CheckRow c;
  c.id = q.getColumn(0).getInt64();
  if (!q.getColumn(1).isNull()) c.sha256 = q.getColumn(1).getString();
  if (!q.getColumn(2).isNull()) c.run_id = q.getColumn(2).getInt64();
  if (!q.getColumn(3).isNull()) c.job_id = q.getColumn(3).getInt64();
  c.check_kind = q.getColumn(4).getString();
  c.verdict = q.getColumn(5).getString();
  if (!q.getColumn(6).isNull()) c.score = q.getColumn(6).getDouble();
  c.details = json::parse(q.getColumn(7).getString());
  if (!q.getColumn(8).isNull()) c.gate = q.getColumn(8).getString();
  c.quarantined = q.getColumn(9).getInt() != 0;
  c.created_at = q.getColumn(10).getInt64();
  return c;
}

std::vector<CheckRow> read_checks(Statement& q) {
  std::vector<CheckRow> out;
  while (q.executeStep()) out.push_back(read_check(q));
  q.reset();
  return out;
}

}  // namespace

int SqlStore::add_registry_entries(const std::vector<RegistryEntry>& entries) {
  WriteTxn txn(db_);
  int added = 0;
  const int64_t t = now();
  for (const RegistryEntry& e : entries) {
    auto& ins = db_.stmt(
        "INSERT INTO registry (label, sha256, source_path, width, height, phash, "
        "phash_quality, colour, added_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    ins.bind(1, e.label);
    ins.bind(2, e.sha256);
    ins.bind(3, e.source_path);
    ins.bind(4, e.width);
    ins.bind(5, e.height);
    ins.bind(6, e.hashes.phash);
    ins.bind(7, e.hashes.quality);
    ins.bind(8, e.hashes.colour);
    ins.bind(9, t);
    added += ins.exec();
  }
  txn.commit();
  return added;
}

std::vector<RegistryEntry> SqlStore::registry(const std::optional<std::string>& label) {
  auto& q = label
                ? db_.stmt("SELECT " REGISTRY_COLUMNS " FROM registry WHERE label = ? ORDER BY id")
                : db_.stmt("SELECT " REGISTRY_COLUMNS " FROM registry ORDER BY id");
  if (label) q.bind(1, *label);
  std::vector<RegistryEntry> out;
  while (q.executeStep()) out.push_back(read_entry(q));
  q.reset();
  return out;
}

std::optional<RegistryEntry> SqlStore::registry_entry(int64_t id) {
  auto& q = db_.stmt("SELECT " REGISTRY_COLUMNS " FROM registry WHERE id = ?");
  q.bind(1, id);
  std::optional<RegistryEntry> e;
  if (q.executeStep()) e = read_entry(q);
  q.reset();
  return e;
}

std::vector<CheckRow> SqlStore::run_checks(int64_t run_id) {
  auto& q = db_.stmt("SELECT " CHECK_COLUMNS " FROM checks WHERE run_id = ? ORDER BY id");
  q.bind(1, run_id);
  return read_checks(q);
}

std::vector<CheckRow> SqlStore::asset_checks(const std::string& sha256) {
  auto& q = db_.stmt("SELECT " CHECK_COLUMNS " FROM checks WHERE sha256 = ? ORDER BY id");
  q.bind(1, sha256);
  return read_checks(q);
}

int64_t SqlStore::quarantined_upstream(int64_t job_id) {
  auto& q = db_.stmt(
      "SELECT COUNT(DISTINCT c.sha256) FROM job_deps d JOIN checks c ON c.job_id = d.dep_id "
      "WHERE d.job_id = ? AND c.quarantined = 1");
  q.bind(1, job_id);
  q.executeStep();
  const int64_t n = q.getColumn(0).getInt64();
  q.reset();
  return n;
}

}  // namespace atelier::sql
