#include "table_copy.h"

#include "common/errors.h"

namespace atelier::sql {

const std::vector<std::string>& store_tables() {
  static const std::vector<std::string> tables = {
      "runs",           "jobs",          "run_job_ranges", "job_deps",    "attempts",
      "workers",        "kind_controls", "assets",         "job_outputs", "asset_inputs",
      "asset_sources",  "models",        "checks",         "events",      "schedules",
      "schedule_fires", "registry",      "signing_keys",   "tokens",      "sessions",
      "notifications",  "asset_imports", "disk_full"};
  return tables;
}

namespace {

int64_t count(Connection& db, const std::string& table) {
  auto q = db.prepare("SELECT COUNT(*) FROM " + table);  // names from the fixed list above
  q->executeStep();
  return q->getColumn(0).getInt64();
}

void copy_value(Statement& from, int col, Statement& to) {
  switch (from.columnType(col)) {
    case ValueType::null:
      to.bind(col + 1);
      break;
    case ValueType::integer:
      to.bind(col + 1, from.columnInt64(col));
      break;
    case ValueType::real:
      to.bind(col + 1, from.columnDouble(col));
      break;
    case ValueType::text:
      to.bind(col + 1, from.columnText(col));
      break;
  }
}

}  // namespace

CopyCounts count_rows(Connection& db) {
  CopyCounts out;
  for (const std::string& t : store_tables()) out.emplace_back(t, count(db, t));
  return out;
}

CopyCounts copy_store(Connection& from, Connection& to) {
  {
    auto leased = from.prepare("SELECT COUNT(*) FROM jobs WHERE state = 'leased'");
    leased->executeStep();
    if (const int64_t n = leased->getColumn(0).getInt64(); n > 0)
      throw InputError(from.describe() + ": " + std::to_string(n) +
                       " job(s) are running; stop every worker (and `atelier serve`) first");
  }
  for (const std::string& t : store_tables()) {
    if (count(to, t) > 0)
      throw InputError(to.describe() + ": table " + t +
                       " is not empty; migrate into an empty database or schema "
                       "(migrate-store makes the tables)");
  }
  CopyCounts out;
  // One snapshot of the source: SQLite's read transaction, PostgreSQL's
  // repeatable read.
  from.exec(from.engine() == Engine::sqlite
                ? "BEGIN"
                : "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    WriteTxn txn(to);
    for (const std::string& t : store_tables()) {
      auto q = from.prepare("SELECT * FROM " + t);
      int64_t rows = 0;
      std::unique_ptr<Statement> ins;
      while (q->executeStep()) {
        const int n = q->columnCount();
        if (!ins) {
          std::string cols, marks;
          for (int i = 0; i < n; ++i) {
            cols += (i ? ", " : "") + q->columnName(i);
            marks += i ? ",?" : "?";
          }
          ins = to.prepare("INSERT INTO " + t + " (" + cols + ") VALUES (" + marks + ")");
        }
        ins->reset();
        for (int i = 0; i < n; ++i) copy_value(*q, i, *ins);
        ins->exec();
        ++rows;
      }
      out.emplace_back(t, rows);
    }
    // Identity counters past the copied ids, so new rows do not collide.
    if (to.engine() == Engine::postgres) {
      for (const char* t :
           {"runs", "jobs", "checks", "events", "registry", "tokens", "notifications"}) {
        to.exec(std::string("SELECT setval(pg_get_serial_sequence('") + t +
                "', 'id'), COALESCE((SELECT MAX(id) FROM " + t + "), 0) + 1, false)");
      }
    }
    txn.commit();
  } catch (...) {
    from.exec("ROLLBACK");
    throw;
  }
  from.exec("COMMIT");
  return out;
}

}  // namespace atelier::sql
