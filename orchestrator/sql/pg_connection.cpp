#include "pg_connection.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

#include "common/fnv1a.h"
#include "migration_steps.h"
#include "migrations.h"

namespace atelier::sql {

namespace {
constexpr Oid kInt8 = 20, kFloat8 = 701, kText = 25, kUnknown = 0;

std::string hex32(uint64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(v & 0xffffffffu));
  return buf;
}

struct ResultGuard {
  PGresult* r;
  ~ResultGuard() {
    if (r) PQclear(r);
  }
};
}  // namespace

std::string pg_placeholders(std::string_view sql, int& params) {
  std::string out;
  out.reserve(sql.size() + 16);
  params = 0;
  int next = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      out.push_back(c);
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
      continue;
    }
    if (c != '?') {
      out.push_back(c);
      continue;
    }
    size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
    int n = j > i + 1 ? std::atoi(std::string(sql.substr(i + 1, j - i - 1)).c_str()) : ++next;
    if (j > i + 1) next = std::max(next, n);
    params = std::max(params, n);
    out += '$' + std::to_string(n);
    i = j - 1;
  }
  return out;
}

std::string pg_clean_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (c >= 0xf5) len = 0;
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len >= 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if (c == 0xe0 && c1 < 0xa0) ok = false;   // overlong
      if (c == 0xed && c1 >= 0xa0) ok = false;  // surrogates
      if (c == 0xf0 && c1 < 0x90) ok = false;   // overlong
      if (c == 0xf4 && c1 >= 0x90) ok = false;  // past U+10FFFF
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string pg_display_url(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    return "postgresql://(unparsable URL)";
  }
  std::map<std::string, std::string> v;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (o->val && *o->val) v[o->keyword] = o->val;
  PQconninfoFree(opts);
  std::string out = "postgresql://";
  if (v.count("user")) out += v["user"] + "@";
  out += v.count("host") ? v["host"] : v.count("hostaddr") ? v["hostaddr"] : "localhost";
  if (v.count("port")) out += ":" + v["port"];
  out += "/" + (v.count("dbname") ? v["dbname"] : std::string());
  if (v.count("options")) out += " (" + v["options"] + ")";
  return out;
}

// A statement of the store's SQL on PostgreSQL. Executes on the first step
// after a reset and keeps the whole result (the store's results are small
// pages), so other statements can run while one is being read.
class PgStatement final : public Statement {
 public:
  PgStatement(PgConnection& c, const char* sql) : c_(c) {
    text_ = pg_placeholders(sql, nparams_);
    values_.resize(nparams_);
    types_.assign(nparams_, kUnknown);
  }
  ~PgStatement() override { clear_result(); }

  void bind(int i, int64_t v) override { set(i, std::to_string(v), kInt8); }
  void bind(int i, double v) override {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    set(i, std::string(buf, end), kFloat8);
  }
  void bind(int i, std::string_view v) override { set(i, pg_clean_text(v), kText); }
  void bind(int i) override {
    check(i);
    values_[i - 1].reset();
    // A NULL keeps the type a value had here before (a column's type does not
    // change), else PostgreSQL infers it from the context.
  }

  bool executeStep() override {
    if (!result_) {
      result_ = c_.run(*this);
      row_ = 0;
    } else {
      ++row_;
    }
    return row_ < PQntuples(result_);
  }
  int64_t exec() override {
    clear_result();
    PGresult* r = c_.run(*this);
    PQclear(r);
    return c_.changes();
  }
  void reset() override { clear_result(); }
  void clearBindings() override {
    for (auto& v : values_) v.reset();
  }

  int columnCount() override { return result_ ? PQnfields(result_) : 0; }
  std::string columnName(int i) override { return PQfname(result_, i); }
  bool columnNull(int i) override { return PQgetisnull(result_, row_, i) != 0; }
  int64_t columnInt64(int i) override {
    const char* v = PQgetvalue(result_, row_, i);
    if (v[0] == 't' && v[1] == 0) return 1;  // a boolean expression
    if (v[0] == 'f' && v[1] == 0) return 0;
    return std::strtoll(v, nullptr, 10);
  }
  double columnDouble(int i) override { return std::strtod(PQgetvalue(result_, row_, i), nullptr); }
  ValueType columnType(int i) override {
    if (PQgetisnull(result_, row_, i)) return ValueType::null;
    switch (PQftype(result_, i)) {
      case 20:  // int8
      case 21:  // int2
      case 23:  // int4
        return ValueType::integer;
      case 700:   // float4
      case 701:   // float8
      case 1700:  // numeric
        return ValueType::real;
      default:
        return ValueType::text;
    }
  }
  std::string columnText(int i) override {
    return std::string(PQgetvalue(result_, row_, i),
                       static_cast<size_t>(PQgetlength(result_, row_, i)));
  }

  const std::string& text() const { return text_; }
  // The current parameter types as text ("20,25,0"): with the connection's
  // generation, the key of the prepared statement that fits them.
  std::string signature() const {
    std::string s;
    for (const Oid t : types_) s += std::to_string(t) + ',';
    return s;
  }
  // (connection generation, signature) -> the server-side statement's name.
  std::map<std::pair<uint64_t, std::string>, std::string> prepared;
  const std::vector<Oid>& types() const { return types_; }
  void param_pointers(std::vector<const char*>& out) const {
    out.clear();
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
  }
  int nparams() const { return nparams_; }

 private:
  void check(int i) const {
    if (i < 1 || i > nparams_)
      throw std::logic_error("parameter " + std::to_string(i) + " out of range for: " + text_);
  }
  void set(int i, std::string v, Oid type) {
    check(i);
    values_[i - 1] = std::move(v);
    types_[i - 1] = type;
  }
  void clear_result() {
    if (result_) PQclear(result_);
    result_ = nullptr;
    row_ = -1;
  }

  PgConnection& c_;
  std::string text_;
  int nparams_ = 0;
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

PgConnection::PgConnection(const std::string& url, bool create, bool migrate)
    : url_(url), name_(pg_display_url(url)) {
  connect();
  if (migrate) this->migrate(create);
}

PgConnection::~PgConnection() {
  cache_.clear();
  if (conn_) PQfinish(conn_);
}

void PgConnection::connect() {
  if (conn_) PQfinish(conn_);
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    throw ConnectionLost(name_ + ": cannot connect to the job database: " + msg);
  }
  ++generation_;
  in_txn_ = false;
  leading_.clear();
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  ResultGuard r{PQexec(conn_, "SELECT current_database() || '.' || current_schema()")};
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1 || PQgetisnull(r.r, 0, 0))
    throw InputError(name_ + ": no schema to use (check the URL's search_path)");
  const std::string where = PQgetvalue(r.r, 0, 0);
  write_key_ = static_cast<int64_t>(fnv1a64("atelier-write:" + where));
  channel_ = "atelier_ready_" + hex32(fnv1a64(where));
}

void PgConnection::ensure_connected() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return;
  if (in_txn_) {
    in_txn_ = false;
    throw ConnectionLost(name_ + ": connection lost inside a transaction");
  }
  connect();
}

PGconn* PgConnection::native() {
  ensure_connected();
  return conn_;
}

void PgConnection::set_changes(PGresult* r) {
  const char* n = PQcmdTuples(r);
  changes_ = n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

PGresult* PgConnection::checked(PGresult* r, const std::string& what) {
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    set_changes(r);
    return r;
  }
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (r) PQclear(r);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    throw ConnectionLost(name_ + ": connection lost: " + msg);
  }
  throw std::runtime_error(name_ + ": " + msg + " (in: " + what + ")");
}

PGresult* PgConnection::run(PgStatement& st) {
  ensure_connected();
  const auto key = std::make_pair(generation_, st.signature());
  auto it = st.prepared.find(key);
  if (it == st.prepared.end()) {
    const std::string name = "s" + std::to_string(++next_statement_);
    PQclear(
        checked(PQprepare(conn_, name.c_str(), st.text().c_str(), st.nparams(), st.types().data()),
                st.text()));
    it = st.prepared.emplace(key, name).first;
  }
  std::vector<const char*> values;
  st.param_pointers(values);
  return checked(
      PQexecPrepared(conn_, it->second.c_str(), st.nparams(), values.data(), nullptr, nullptr, 0),
      st.text());
}

Statement& PgConnection::stmt(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<PgStatement>(*this, sql)).first;
  } else {
    it->second->reset();
    it->second->clearBindings();
  }
  return *it->second;
}

std::unique_ptr<Statement> PgConnection::prepare(const std::string& sql) {
  return std::make_unique<PgStatement>(*this, sql.c_str());
}

void PgConnection::exec(const std::string& sql) {
  ensure_connected();
  PQclear(checked(PQexec(conn_, sql.c_str()), sql.substr(0, 200)));
}

void PgConnection::begin_write() {
  ensure_connected();
  const std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(write_key_) + ")";
  PQclear(checked(PQexec(conn_, sql.c_str()), "BEGIN"));
  in_txn_ = true;
}

void PgConnection::begin_claim() {
  ensure_connected();
  PQclear(checked(PQexec(conn_, "BEGIN"), "BEGIN"));
  in_txn_ = true;
}

void PgConnection::commit() {
  in_txn_ = false;  // whatever COMMIT answers, the transaction is over
  PQclear(checked(PQexec(conn_, "COMMIT"), "COMMIT"));
}

void PgConnection::rollback() noexcept {
  in_txn_ = false;
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return;
  PGresult* r = PQexec(conn_, "ROLLBACK");
  if (r) PQclear(r);
}

void PgConnection::lock_in_transaction(std::string_view name) {
  auto& st = stmt("SELECT pg_advisory_xact_lock(?)");
  st.bind(1, static_cast<int64_t>(fnv1a64(std::to_string(write_key_) + ":" + std::string(name))));
  st.executeStep();
  st.reset();
}

bool PgConnection::hold_leadership(std::string_view role) {
  ensure_connected();  // a reconnect clears leading_: the lock went with the old session
  const std::string r(role);
  if (leading_.count(r)) return true;
  auto& st = stmt("SELECT pg_try_advisory_lock(?)");
  st.bind(1, static_cast<int64_t>(fnv1a64(std::to_string(write_key_) + ":lead:" + r)));
  const bool got = st.executeStep() && st.getColumn(0).getInt() == 1;
  st.reset();
  if (got) leading_.insert(r);
  return got;
}

void PgConnection::notify_ready() {
  // After a commit: failing here must not make the caller repeat the write it
  // just committed. A lost notification costs an idle worker at most its
  // safety-net wait; a lost connection is found by the next statement.
  if (!connected() || in_txn_) return;
  PGresult* r = PQexec(conn_, ("NOTIFY " + channel_).c_str());
  if (r) PQclear(r);
}

std::string PgConnection::integrity_check() {
  // The server keeps its own pages consistent; what can drift is the job
  // accounting the store keeps beside the rows.
  auto& q = stmt(
      "SELECT COUNT(*) FROM runs r WHERE r.unfinished <> (SELECT COUNT(*) FROM jobs j "
      "WHERE j.run_id = r.id AND j.state IN ('waiting','ready','leased'))");
  q.executeStep();
  const int64_t bad = q.getColumn(0).getInt64();
  q.reset();
  return bad == 0 ? "ok" : std::to_string(bad) + " runs whose unfinished count is wrong";
}

void PgConnection::migrate(bool create) {
  const auto& all = schema::postgres_migrations();
  begin_write();
  try {
    exec("CREATE TABLE IF NOT EXISTS atelier_schema (version BIGINT NOT NULL)");
    int version = 0;
    {
      ResultGuard r{checked(PQexec(conn_, "SELECT version FROM atelier_schema"), "version")};
      if (PQntuples(r.r) > 0) version = std::atoi(PQgetvalue(r.r, 0, 0));
    }
    if (version > static_cast<int>(all.size())) throw newer_schema_error(name_, version);
    if (version == 0 && !create) {
      throw InputError(name_ +
                       ": no Atelier job database here (run `atelier init --db URL` to make one)");
    }
    for (size_t i = static_cast<size_t>(version); i < all.size(); ++i) {
      try {
        exec(std::string(all[i].sql));
        after_migration(*this, all[i].name);
      } catch (const std::runtime_error& e) {
        throw InputError(name_ + ": migration " + std::string(all[i].name) +
                         " failed: " + e.what());
      }
    }
    if (version != static_cast<int>(all.size())) {
      exec("DELETE FROM atelier_schema");
      exec("INSERT INTO atelier_schema (version) VALUES (" + std::to_string(all.size()) + ")");
    }
    commit();
  } catch (...) {
    rollback();
    throw;
  }
}

}  // namespace atelier::sql
