// The SQLite connection: one file configured as DESIGN.md s.2 requires (WAL,
// foreign keys, busy timeout, synchronous=NORMAL), migrated forward on open,
// with a cache of prepared statements. Every write transaction (claims too) is
// BEGIN IMMEDIATE so that concurrent writers wait in the busy handler instead
// of failing with SQLITE_BUSY on a read-to-write upgrade.
#pragma once
#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "connection.h"

namespace atelier::sql {

class SqliteConnection final : public Connection {
 public:
  // Opens (create: also creates) the database file and migrates it forward.
  // Throws InputError naming the file when it is not a database, is missing,
  // or was written by a newer Atelier.
  SqliteConnection(const std::filesystem::path& file, bool create);
  ~SqliteConnection() override;

  Engine engine() const override { return Engine::sqlite; }
  const std::string& describe() const override { return name_; }
  Statement& stmt(const char* sql) override;
  std::unique_ptr<Statement> prepare(const std::string& sql) override;
  void exec(const std::string& sql) override;
  int64_t changes() const override;
  void begin_write() override;
  void begin_claim() override { begin_write(); }
  void commit() override;
  void rollback() noexcept override;
  void set_foreign_keys(bool on) override;
  void lock_in_transaction(std::string_view) override {}
  bool hold_leadership(std::string_view) override { return true; }
  void notify_ready() override {}  // the workspace's wake file does it (wakeup.h)
  std::string integrity_check() override;

  SQLite::Database& raw() { return *db_; }

 private:
  void migrate();
  std::filesystem::path file_;
  std::string name_;
  std::unique_ptr<SQLite::Database> db_;
  std::unordered_map<const char*, std::unique_ptr<Statement>> cache_;
};

}  // namespace atelier::sql
