// See auth.h.
#include "dashboard/auth.h"

#include <sodium.h>

#include "orchestrator/tokens.h"

namespace atelier::dashboard {

std::string random_secret() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return b64;
}

NewSession open_session(Store& store, const TokenRow& token, int64_t now_ms, int64_t lifetime_ms) {
  NewSession s;
  s.id = random_secret();
  s.row.id_hash = token_hash(s.id);
  s.row.token_id = token.id;
  s.row.csrf = random_secret();
  s.row.created_at = now_ms;
  s.row.expires_at = now_ms + lifetime_ms;
  s.row.token_name = token.name;
  s.row.role = token.role;
  store.add_session(s.row);
  return s;
}

std::string session_cookie(const std::string& id, int64_t lifetime_ms) {
  return std::string(kSessionCookie) + "=" + id +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(lifetime_ms / 1000);
}

std::string expired_cookie(const char* name, const char* path) {
  // A cookie is cleared only under the Path it was set with.
  return std::string(name) + "=; Path=" + path + "; HttpOnly; SameSite=Strict; Max-Age=0";
}

std::string login_cookie(const std::string& nonce) {
  return std::string(kLoginCookie) + "=" + nonce +
         "; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600";
}

}  // namespace atelier::dashboard
