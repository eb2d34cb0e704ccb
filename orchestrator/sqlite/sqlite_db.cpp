#include "sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "../audit_chain.h"
#include "../errors.h"
#include "migrations.h"

namespace atelier::sqlite {

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

[[noreturn]] void rethrow_open_error(const std::filesystem::path& file, const std::exception& e) {
  const auto* se = dynamic_cast<const SQLite::Exception*>(&e);
  if (se && (se->getErrorCode() == SQLITE_NOTADB || se->getErrorCode() == SQLITE_CORRUPT)) {
    throw InputError(file.string() + ": not an Atelier database (" + se->what() + ")");
  }
  throw InputError(file.string() + ": cannot open the job database: " + e.what());
}

// Migration 0005 turns the audit log into a hash chain (audit_chain.h); the
// entries written before it are chained here, in the migration's transaction.
void chain_existing_events(SQLite::Database& db) {
  SQLite::Statement q(db, "SELECT id, at, actor, action, target, details FROM events ORDER BY id");
  SQLite::Statement up(db, "UPDATE events SET prev_hash = ?, hash = ? WHERE id = ?");
  std::string prev;
  while (q.executeStep()) {
    const int64_t id = q.getColumn(0).getInt64();
    const std::string hash = audit_entry_hash(
        prev, id, q.getColumn(1).getInt64(), q.getColumn(2).getString(), q.getColumn(3).getString(),
        q.getColumn(4).getString(), q.getColumn(5).getString());
    up.bind(1, prev);
    up.bind(2, hash);
    up.bind(3, id);
    up.exec();
    up.reset();
    prev = hash;
  }
}
}  // namespace

int schema_version() {
  return static_cast<int>(schema::migrations().size());
}

Db::Db(const std::filesystem::path& file, bool create) : file_(file) {
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

void Db::migrate() {
  const auto& all = schema::migrations();
  auto version = [&] { return db_->execAndGet("PRAGMA user_version").getInt(); };
  if (version() == static_cast<int>(all.size())) return;  // the common case: no write lock
  WriteTxn txn(*this);
  int v = version();  // re-read under the write lock: another process may have migrated
  if (v > static_cast<int>(all.size())) {
    throw InputError(file_.string() + ": the job database is at schema version " +
                     std::to_string(v) + ", newer than this atelier understands (" +
                     std::to_string(all.size()) + "); upgrade atelier");
  }
  for (size_t i = static_cast<size_t>(v); i < all.size(); ++i) {
    try {
      db_->exec(std::string(all[i].sql));
      if (all[i].name == "0005_schedules_tokens_audit.sql") chain_existing_events(*db_);
    } catch (const SQLite::Exception& e) {
      throw InputError(file_.string() + ": migration " + std::string(all[i].name) +
                       " failed: " + e.what());
    }
  }
  db_->exec("PRAGMA user_version = " + std::to_string(all.size()));  // a number, not user data
  txn.commit();
}

SQLite::Statement& Db::stmt(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<SQLite::Statement>(*db_, sql)).first;
  } else {
    it->second->reset();
    it->second->clearBindings();
  }
  return *it->second;
}

int64_t Db::changes() const {
  return sqlite3_changes64(db_->getHandle());
}

WriteTxn::WriteTxn(Db& db) : db_(db) {
  // A cached SELECT stepped to its first row and never reset keeps a read
  // snapshot open; once another process commits, BEGIN IMMEDIATE on that stale
  // snapshot fails at once with SQLITE_BUSY (the busy handler is not called).
  // No statement may stay mid-result across a write transaction, so end them.
  sqlite3* h = db_.raw().getHandle();
  for (sqlite3_stmt* s = sqlite3_next_stmt(h, nullptr); s; s = sqlite3_next_stmt(h, s))
    if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
  db_.raw().exec("BEGIN IMMEDIATE");
}

WriteTxn::~WriteTxn() {
  if (!done_) {
    try {
      db_.raw().exec("ROLLBACK");
    } catch (...) {
    }
  }
}

void WriteTxn::commit() {
  db_.raw().exec("COMMIT");
  done_ = true;
}

}  // namespace atelier::sqlite
