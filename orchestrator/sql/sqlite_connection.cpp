#include "sqlite_connection.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/errors.h"
#include "migration_steps.h"
#include "migrations.h"

namespace atelier::sql {

namespace {
constexpr int kBusyTimeoutMs = 60'000;

// SQLite's default busy handler sleeps 1, 2, 5, 10... ms between tries, which
// is longer than a whole claim or completion transaction here: two workers
// taking turns would spend most of their time asleep. This one backs off from
// 20 us to 2 ms and gives up (SQLITE_BUSY) after kBusyTimeoutMs.
int busy_handler(void*, int tries) {
  const int64_t sleep_us = std::min<int64_t>(2000, 20LL << std::min(tries / 8, 7));
  static thread_local std::chrono::steady_clock::time_point first;
  if (tries == 0) first = std::chrono::steady_clock::now();
  if (std::chrono::steady_clock::now() - first > std::chrono::milliseconds(kBusyTimeoutMs))
    return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
  return 1;
}

// SQLiteCpp's statement behind the engine-neutral interface.
class SqliteStatement final : public Statement {
 public:
  SqliteStatement(SQLite::Database& db, const char* sql) : st_(db, sql) {}
  void bind(int i, int64_t v) override { st_.bind(i, v); }
  void bind(int i, double v) override { st_.bind(i, v); }
  // As text: SQLiteCpp's sized bind makes a blob, and its string bind copies.
  void bind(int i, std::string_view v) override { st_.bind(i, std::string(v)); }
  void bind(int i) override { st_.bind(i); }
  bool executeStep() override { return st_.executeStep(); }
  int64_t exec() override { return st_.exec(); }
  void reset() override { st_.reset(); }
  void clearBindings() override { st_.clearBindings(); }
  int columnCount() override { return st_.getColumnCount(); }
  std::string columnName(int i) override { return st_.getColumnName(i); }
  bool columnNull(int i) override { return st_.getColumn(i).isNull(); }
  int64_t columnInt64(int i) override { return st_.getColumn(i).getInt64(); }
  double columnDouble(int i) override { return st_.getColumn(i).getDouble(); }
  std::string columnText(int i) override { return st_.getColumn(i).getString(); }
  ValueType columnType(int i) override {
    const int t = st_.getColumn(i).getType();
    if (t == SQLITE_INTEGER) return ValueType::integer;
    if (t == SQLITE_FLOAT) return ValueType::real;
    if (t == SQLITE_NULL) return ValueType::null;
    return ValueType::text;  // blobs do not occur in the schema
  }

 private:
  SQLite::Statement st_;
};

[[noreturn]] void rethrow_open_error(const std::filesystem::path& file, const std::exception& e) {
  const auto* se = dynamic_cast<const SQLite::Exception*>(&e);
  if (se && (se->getErrorCode() == SQLITE_NOTADB || se->getErrorCode() == SQLITE_CORRUPT)) {
    throw InputError(file.string() + ": not an Atelier database (" + se->what() + ")");
  }
  throw InputError(file.string() + ": cannot open the job database: " + e.what());
}

}  // namespace

SqliteConnection::SqliteConnection(const std::filesystem::path& file, bool create)
    : file_(file), name_(file.string()) {
  if (!create && !std::filesystem::exists(file)) {
    throw InputError(file.string() +
                     ": job database not found (is this an Atelier workspace? "
                     "run `atelier init` to make one)");
  }
  try {
    int flags = SQLite::OPEN_READWRITE | (create ? SQLite::OPEN_CREATE : 0) | SQLite::OPEN_NOMUTEX;
    db_ = std::make_unique<SQLite::Database>(file.string(), flags, kBusyTimeoutMs);
    sqlite3_busy_handler(db_->getHandle(), busy_handler, nullptr);
    // The first read is where a non-database file is noticed.
    db_->exec("PRAGMA foreign_keys = ON");
    {
      SQLite::Statement mode(*db_, "PRAGMA journal_mode = WAL");
      mode.executeStep();
    }
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA temp_store = MEMORY");  // sorts and subqueries never touch a temp file
    db_->exec("PRAGMA cache_size = -32768");
    migrate();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    rethrow_open_error(file, e);
  }
}

SqliteConnection::~SqliteConnection() {
  cache_.clear();  // statements before the database they belong to
}

void SqliteConnection::migrate() {
  const auto& all = schema::migrations();
  auto version = [&] { return db_->execAndGet("PRAGMA user_version").getInt(); };
  if (version() == static_cast<int>(all.size())) return;  // the common case: no write lock
  WriteTxn txn(*this);
  int v = version();  // re-read under the write lock: another process may have migrated
  if (v > static_cast<int>(all.size())) throw newer_schema_error(name_, v);
  for (size_t i = static_cast<size_t>(v); i < all.size(); ++i) {
    try {
      db_->exec(std::string(all[i].sql));
      after_migration(*this, all[i].name);
    } catch (const SQLite::Exception& e) {
      throw InputError(name_ + ": migration " + std::string(all[i].name) + " failed: " + e.what());
    }
  }
  db_->exec("PRAGMA user_version = " + std::to_string(all.size()));  // a number, not user data
  txn.commit();
}

Statement& SqliteConnection::stmt(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<SqliteStatement>(*db_, sql)).first;
  } else {
    it->second->reset();
    it->second->clearBindings();
  }
  return *it->second;
}

std::unique_ptr<Statement> SqliteConnection::prepare(const std::string& sql) {
  return std::make_unique<SqliteStatement>(*db_, sql.c_str());
}

void SqliteConnection::exec(const std::string& sql) {
  db_->exec(sql);
}

int64_t SqliteConnection::changes() const {
  return sqlite3_changes64(db_->getHandle());
}

void SqliteConnection::begin_write() {
  // A cached SELECT stepped to its first row and never reset keeps a read
  // snapshot open; once another process commits, BEGIN IMMEDIATE on that stale
  // snapshot fails at once with SQLITE_BUSY (the busy handler is not called).
  // No statement may stay mid-result across a write transaction, so end them.
  sqlite3* h = db_->getHandle();
  for (sqlite3_stmt* s = sqlite3_next_stmt(h, nullptr); s; s = sqlite3_next_stmt(h, s))
    if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
  db_->exec("BEGIN IMMEDIATE");
}

void SqliteConnection::commit() {
  db_->exec("COMMIT");
}

void SqliteConnection::rollback() noexcept {
  try {
    db_->exec("ROLLBACK");
  } catch (...) {
  }
}

void SqliteConnection::set_foreign_keys(bool on) {
  db_->exec(on ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF");
}

std::string SqliteConnection::integrity_check() {
  return db_->execAndGet("PRAGMA integrity_check").getString();
}

}  // namespace atelier::sql
