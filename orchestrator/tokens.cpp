// See tokens.h.
#include "orchestrator/tokens.h"

#include <sodium.h>

#include "orchestrator/asset_store.h"
#include "common/errors.h"

namespace atelier {

NewToken create_token(Store& store, const std::string& role, const std::string& name,
                      const std::string& created_by) {
  if (role != "admin" && role != "viewer")
    throw InputError("token role '" + role + "': use admin or viewer");
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes, sizeof bytes);
  NewToken t;
  t.secret = std::string(kTokenPrefix) + b64;
  t.row.name = name.empty() ? role : name;
  t.row.role = role;
  t.row.secret_hash = token_hash(t.secret);
  t.row.created_by = created_by;
  t.row.id = store.add_token(t.row);
  return t;
}

std::string token_hash(const std::string& secret) {
  return sha256_hex(secret);
}

std::optional<TokenRow> authenticate_token(Store& store, const std::string& presented) {
  // Only well-formed tokens reach the database: a header of garbage costs no query.
  if (presented.size() != 47 || presented.rfind(kTokenPrefix, 0) != 0) return std::nullopt;
  for (size_t i = 4; i < presented.size(); ++i) {
    const char c = presented[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return std::nullopt;
  }
  return store.use_token(token_hash(presented));
}

bool role_allows(const std::string& role, const std::string& needed) {
  if (needed == "viewer") return role == "viewer" || role == "admin";
  return role == "admin";
}

}  // namespace atelier
