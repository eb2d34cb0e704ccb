// The PostgreSQL connection (libpq), for a job database many hosts share.
// URL: postgresql://[user[:password]@]host[:port]/database[?options=-csearch_path%3DNAME...]
// (any libpq connection URI; a search_path gives each workspace its own schema
// in one database).
// Invariants:
//  - statements are prepared once per parameter-type signature and connection;
//    values travel as text, results come back as text;
//  - a write transaction holds pg_advisory_xact_lock(write_key) for its whole
//    life: writers of one schema are serialised exactly as SQLite's are;
//  - text parameters are valid UTF-8 without NUL (a job's error may be neither:
//    invalid bytes become U+FFFD, NUL is dropped) so that no write fails on them;
//  - a lost connection throws ConnectionLost; the next statement outside a
//    transaction reconnects (and prepares again).
#pragma once
#include <libpq-fe.h>

#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "connection.h"

namespace atelier::sql {

class PgStatement;

class PgConnection final : public Connection {
 public:
  // Connects; with `migrate`, brings the schema forward (creating it when
  // `create`), and throws InputError when it is missing and not `create`.
  PgConnection(const std::string& url, bool create, bool migrate = true);
  ~PgConnection() override;

  Engine engine() const override { return Engine::postgres; }
  const std::string& describe() const override { return name_; }
  Statement& stmt(const char* sql) override;
  std::unique_ptr<Statement> prepare(const std::string& sql) override;
  void exec(const std::string& sql) override;
  int64_t changes() const override { return changes_; }
  void begin_write() override;
  void begin_claim() override;
  void commit() override;
  void rollback() noexcept override;
  void set_foreign_keys(bool) override {}
  void lock_in_transaction(std::string_view name) override;
  bool hold_leadership(std::string_view role) override;
  void notify_ready() override;
  std::string integrity_check() override;

  // The LISTEN channel idle workers of this schema wait on.
  const std::string& channel() const { return channel_; }
  PGconn* native();  // connected (reconnects when needed)
  // The session as it is, without reconnecting (a listener's LISTEN lives in it).
  PGconn* handle() const { return conn_; }
  bool connected() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

  // Runs a prepared statement's current bindings; internal to PgStatement.
  PGresult* run(PgStatement& st);

 private:
  void connect();
  void ensure_connected();
  PGresult* checked(PGresult* r, const std::string& what);
  void migrate(bool create);
  void set_changes(PGresult* r);

  std::string url_, name_, channel_;
  PGconn* conn_ = nullptr;
  int64_t write_key_ = 0;
  uint64_t generation_ = 0;  // bumps on every (re)connect: statements prepare again
  bool in_txn_ = false;
  int64_t changes_ = 0;
  std::set<std::string> leading_;
  int next_statement_ = 0;
  std::unordered_map<const char*, std::unique_ptr<PgStatement>> cache_;
  friend class PgStatement;
};

// Rewrites `?` and `?N` placeholders as `$N` (outside quoted text); returns the
// highest parameter number in `params`.
std::string pg_placeholders(std::string_view sql, int& params);

// The text as PostgreSQL accepts it: invalid UTF-8 bytes replaced by U+FFFD, NUL
// dropped.
std::string pg_clean_text(std::string_view s);

// The URL without its password, for messages and logs.
std::string pg_display_url(const std::string& url);

}  // namespace atelier::sql
