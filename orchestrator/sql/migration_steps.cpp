#include "migration_steps.h"

#include "../audit_chain.h"
#include "migrations.h"

namespace atelier::sql {

int schema_version() {
  return static_cast<int>(schema::migrations().size());
}

InputError newer_schema_error(const std::string& db_name, int version) {
  return InputError(db_name + ": the job database is at schema version " + std::to_string(version) +
                    ", newer than this atelier understands (" + std::to_string(schema_version()) +
                    "); upgrade atelier");
}

void after_migration(Connection& db, std::string_view name) {
  if (name != "0005_schedules_tokens_audit.sql") return;
  auto& q = db.stmt("SELECT id, at, actor, action, target, details FROM events ORDER BY id");
  struct Entry {
    int64_t id;
    std::string hash;
  };
  std::vector<Entry> chained;
  std::string prev;
  while (q.executeStep()) {
    const int64_t id = q.getColumn(0).getInt64();
    std::string hash = audit_entry_hash(prev, id, q.getColumn(1).getInt64(),
                                        q.getColumn(2).getString(), q.getColumn(3).getString(),
                                        q.getColumn(4).getString(), q.getColumn(5).getString());
    prev = hash;
    chained.push_back({id, std::move(hash)});
  }
  q.reset();
  std::string before;
  for (const Entry& e : chained) {
    auto& up = db.stmt("UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?");
    up.bind(1, before);
    up.bind(2, e.hash);
    up.bind(3, e.id);
    up.exec();
    before = e.hash;
  }
}

}  // namespace atelier::sql
