// The tokens table: API tokens for the dashboard's actions, kept as the sha256
// of their secret only. A revoked token is never found again.
#include "sql_store.h"

namespace atelier::sql {

namespace {

#define TOKEN_COLUMNS \
  "id, name, role, secret_hash, created_at, created_by, revoked_at, last_used_at"

TokenRow read_token(Statement& q) {
  TokenRow t;
  t.id = q.getColumn(0).getInt64();
  t.name = q.getColumn(1).getString();
  t.role = q.getColumn(2).getString();
  t.secret_hash = q.getColumn(3).getString();
  t.created_at = q.getColumn(4).getInt64();
  t.created_by = q.getColumn(5).getString();
  if (!q.getColumn(6).isNull()) t.revoked_at = q.getColumn(6).getInt64();
  if (!q.getColumn(7).isNull()) t.last_used_at = q.getColumn(7).getInt64();
  return t;
}

}  // namespace

int64_t SqlStore::add_token(const TokenRow& t) {
  auto& ins = db_.stmt(
      "INSERT INTO tokens (name, role, secret_hash, created_at, created_by) VALUES (?,?,?,?,?) "
      "RETURNING id");
  ins.bind(1, t.name);
  ins.bind(2, t.role);
  ins.bind(3, t.secret_hash);
  ins.bind(4, t.created_at ? t.created_at : now());
  ins.bind(5, t.created_by);
  ins.executeStep();
  const int64_t id = ins.getColumn(0).getInt64();
  ins.reset();
  return id;
}

std::optional<TokenRow> SqlStore::use_token(const std::string& secret_hash) {
  auto& q =
      db_.stmt("SELECT " TOKEN_COLUMNS " FROM tokens WHERE secret_hash = ? AND revoked_at IS NULL");
  q.bind(1, secret_hash);
  std::optional<TokenRow> t;
  if (q.executeStep()) t = read_token(q);
  q.reset();
  if (t) {
    // Last use to the minute is enough for "is this token still in use?", and
    // keeps a busy API from writing on every request.
    const int64_t at = now();
    if (!t->last_used_at || at - *t->last_used_at > 60'000) {
      auto& up = db_.stmt("UPDATE tokens SET last_used_at = ? WHERE id = ?");
      up.bind(1, at);
      up.bind(2, t->id);
      up.exec();
      t->last_used_at = at;
    }
  }
  return t;
}

std::vector<TokenRow> SqlStore::list_tokens() {
  auto& q = db_.stmt("SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY id");
  std::vector<TokenRow> out;
  while (q.executeStep()) out.push_back(read_token(q));
  q.reset();
  return out;
}

bool SqlStore::revoke_token(int64_t id) {
  auto& up = db_.stmt("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  up.bind(1, now());
  up.bind(2, id);
  return up.exec() > 0;
}

}  // namespace atelier::sql
