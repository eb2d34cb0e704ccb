// The signing_keys table (schema/0004_keys.sql): the public keys whose
// signatures this workspace trusts. A key id names one public key for good:
// adding it again is a no-op, and adding it with another public key is refused.
#include "common/errors.h"
#include "sql_store.h"

namespace atelier::sql {

namespace {

SigningKeyRow read_key(Statement& q) {
  return {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
          q.getColumn(3).getString(), q.getColumn(4).getInt64()};
}
}  // namespace

bool SqlStore::add_signing_key(const SigningKeyRow& k) {
  WriteTxn txn(db_);
  if (auto have = find_signing_key(k.key_id)) {
    if (have->public_key != k.public_key)
      throw InputError("signing key " + k.key_id + ": this workspace already trusts another " +
                       "public key with that id (" + have->public_key + ")");
    return false;
  }
  auto& ins = db_.stmt(
      "INSERT INTO signing_keys (key_id, public_key, origin, label, created_at) "
      "VALUES (?,?,?,?,?)");
  ins.bind(1, k.key_id);
  ins.bind(2, k.public_key);
  ins.bind(3, k.origin);
  ins.bind(4, k.label);
  ins.bind(5, k.created_at ? k.created_at : now());
  ins.exec();
  ins.reset();
  txn.commit();
  return true;
}

std::optional<SigningKeyRow> SqlStore::find_signing_key(const std::string& key_id) {
  auto& q = db_.stmt(
      "SELECT key_id, public_key, origin, label, created_at FROM signing_keys "
      "WHERE key_id = ?");
  q.bind(1, key_id);
  std::optional<SigningKeyRow> k;
  if (q.executeStep()) k = read_key(q);
  q.reset();
  return k;
}

std::vector<SigningKeyRow> SqlStore::signing_keys() {
  auto& q = db_.stmt(
      "SELECT key_id, public_key, origin, label, created_at FROM signing_keys "
      "ORDER BY origin = 'workspace' DESC, created_at, key_id");
  std::vector<SigningKeyRow> out;
  while (q.executeStep()) out.push_back(read_key(q));
  q.reset();
  return out;
}

}  // namespace atelier::sql
