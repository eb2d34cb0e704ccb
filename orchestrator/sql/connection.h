// One connection to the job database, whichever engine holds it: SQLite (a file,
// the embedded default) or PostgreSQL (a server many hosts share). The store's
// SQL is written once against this interface (DESIGN.md s.9: portable SQL):
// `?` placeholders (or `?N`, numbered), ON CONFLICT, RETURNING. What differs
// between the engines is here, not in the queries:
//  - a write transaction (WriteTxn) serialises against every other write
//    transaction of the database: SQLite's BEGIN IMMEDIATE, PostgreSQL's
//    transaction-scoped advisory lock. The store's read-then-write logic
//    (promotion, skipping, the unfinished counter, consecutive job ids) relies on
//    that and nothing weaker;
//  - a claim transaction (ClaimTxn) takes no such lock on PostgreSQL: claims
//    lock only the rows they take (FOR UPDATE SKIP LOCKED), so many hosts claim
//    at once;
//  - a lost server connection surfaces as ConnectionLost; the next statement
//    reconnects (RetryingStore retries the whole operation).
// A connection and its statements belong to one thread.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace atelier::sql {

enum class Engine { sqlite, postgres };

// The server went away (or could not be reached) before the operation ended;
// nothing of an open transaction was committed, so the operation can run again.
class ConnectionLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Statement;

enum class ValueType { null, integer, real, text };

// One column of the current row (names mirror SQLiteCpp's, which the store's
// code was first written against).
class Column {
 public:
  Column(Statement& st, int index) : st_(st), i_(index) {}
  bool isNull() const;
  int64_t getInt64() const;
  int getInt() const { return static_cast<int>(getInt64()); }
  double getDouble() const;
  std::string getString() const;

 private:
  Statement& st_;
  int i_;
};

class Statement {
 public:
  virtual ~Statement() = default;

  // Parameters count from 1.
  virtual void bind(int index, int64_t v) = 0;
  virtual void bind(int index, double v) = 0;
  virtual void bind(int index, std::string_view v) = 0;
  virtual void bind(int index) = 0;  // NULL
  void bind(int index, int v) { bind(index, static_cast<int64_t>(v)); }
  void bind(int index, unsigned v) { bind(index, static_cast<int64_t>(v)); }
  void bind(int index, long long v) { bind(index, static_cast<int64_t>(v)); }
  void bind(int index, const std::string& v) { bind(index, std::string_view(v)); }
  void bind(int index, const char* v) { bind(index, std::string_view(v)); }
  // The string must outlive the statement's next execution.
  void bindNoCopy(int index, const std::string& v) { bind(index, std::string_view(v)); }

  // Runs the statement on the first call after reset; true while a row is current.
  virtual bool executeStep() = 0;
  // Runs a statement that returns no rows; returns the rows it changed.
  virtual int64_t exec() = 0;
  virtual void reset() = 0;          // ends the current result, keeps bindings
  virtual void clearBindings() = 0;  // every parameter back to NULL

  Column getColumn(int index) { return Column(*this, index); }
  virtual int columnCount() = 0;
  virtual std::string columnName(int index) = 0;
  virtual bool columnNull(int index) = 0;
  virtual int64_t columnInt64(int index) = 0;
  virtual double columnDouble(int index) = 0;
  virtual std::string columnText(int index) = 0;
  virtual ValueType columnType(int index) = 0;
};

inline bool Column::isNull() const {
  return st_.columnNull(i_);
}
inline int64_t Column::getInt64() const {
  return st_.columnInt64(i_);
}
inline double Column::getDouble() const {
  return st_.columnDouble(i_);
}
inline std::string Column::getString() const {
  return st_.columnText(i_);
}

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Engine engine() const = 0;
  // The file or the URL (without a password), for messages.
  virtual const std::string& describe() const = 0;

  // A prepared statement for this SQL text, reset and with bindings cleared.
  // The SQL must be a string literal (its address keys the cache).
  virtual Statement& stmt(const char* sql) = 0;
  // A statement for SQL text made at run time (not cached).
  virtual std::unique_ptr<Statement> prepare(const std::string& sql) = 0;
  // Runs SQL text with no parameters and no result (one or more statements).
  virtual void exec(const std::string& sql) = 0;
  // Rows changed by the last statement run on this connection.
  virtual int64_t changes() const = 0;

  virtual void begin_write() = 0;  // serialised against every other writer
  virtual void begin_claim() = 0;  // PostgreSQL: row locks only
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;

  // Bulk writes whose rows are consistent by construction may skip per-row
  // foreign-key checks where the engine allows it (SQLite); a no-op elsewhere.
  virtual void set_foreign_keys(bool on) = 0;

  // Serialises this transaction with every other one that names `name`
  // (PostgreSQL; SQLite's writers are serialised already).
  virtual void lock_in_transaction(std::string_view name) = 0;
  // Takes (and keeps while this connection lives) a lock only one connection of
  // the database holds: true while this one holds it. Always true on SQLite,
  // which only processes of one machine share.
  virtual bool hold_leadership(std::string_view role) = 0;
  // Wakes idle workers on other hosts (PostgreSQL NOTIFY); call after a commit.
  // Never throws: the commit before it stands either way.
  virtual void notify_ready() = 0;

  virtual std::string integrity_check() = 0;
};

// Begin ... commit, rolled back if not committed.
class WriteTxn {
 public:
  explicit WriteTxn(Connection& db, bool claim = false) : db_(db) {
    if (claim) {
      db_.begin_claim();
    } else {
      db_.begin_write();
    }
  }
  ~WriteTxn() {
    if (!done_) db_.rollback();
  }
  void commit() {
    db_.commit();
    done_ = true;
  }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

 private:
  Connection& db_;
  bool done_ = false;
};

// Foreign-key checks off for the next transaction(s), back on when it goes out
// of scope. Declare it before the WriteTxn (SQLite cannot change it inside one).
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(Connection& db) : db_(db) { db_.set_foreign_keys(false); }
  ~ForeignKeysOff() { db_.set_foreign_keys(true); }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  Connection& db_;
};

// Binds the value, or NULL when there is none.
template <typename T>
void bind_opt(Statement& st, int index, const std::optional<T>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bind(index);
  }
}

}  // namespace atelier::sql
