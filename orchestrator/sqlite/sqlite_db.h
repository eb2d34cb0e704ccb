// One SQLite connection configured as DESIGN.md s.2 requires (WAL, foreign
// keys, busy timeout, synchronous=NORMAL), migrated forward on open, with a
// cache of prepared statements. Every write transaction is BEGIN IMMEDIATE so
// that concurrent writers wait in the busy handler instead of failing with
// SQLITE_BUSY on a read-to-write upgrade.
#pragma once
#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace atelier::sqlite {

class Db {
 public:
  // Opens (create: also creates) the database file and migrates it forward.
  // Throws InputError naming the file when it is not a database, is missing,
  // or was written by a newer Atelier.
  Db(const std::filesystem::path& file, bool create);

  SQLite::Database& raw() { return *db_; }
  const std::filesystem::path& file() const { return file_; }

  // A prepared statement for this SQL text, reset and with bindings cleared.
  // The SQL must be a string literal (its address keys the cache).
  SQLite::Statement& stmt(const char* sql);

  int64_t changes() const;

 private:
  void migrate();
  std::filesystem::path file_;
  std::unique_ptr<SQLite::Database> db_;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed.
class WriteTxn {
 public:
  explicit WriteTxn(Db& db);
  ~WriteTxn();
  void commit();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

 private:
  Db& db_;
  bool done_ = false;
};

// PRAGMA foreign_keys = OFF for the next transaction(s), back ON when it goes
// out of scope. Declare it before the WriteTxn: the pragma cannot change inside
// a transaction. For bulk writes whose rows are consistent by construction.
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(Db& db) : db_(db) { db_.raw().exec("PRAGMA foreign_keys = OFF"); }
  ~ForeignKeysOff() { db_.raw().exec("PRAGMA foreign_keys = ON"); }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  Db& db_;
};

// Binds the value, or NULL when there is none.
template <typename T>
void bind_opt(SQLite::Statement& st, int index, const std::optional<T>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bind(index);
  }
}

// The schema version this build writes.
int schema_version();

}  // namespace atelier::sqlite
