// Browser logins for the dashboard. A login exchanges an API token for a
// session: a random id in an HttpOnly, SameSite=Strict cookie (only its sha256
// is stored, sessions table) and a CSRF token every form of the session carries.
// The login form itself is protected by a double-submit cookie, so another site
// cannot log a browser in under its own token. A session ends at its expiry, at
// logout, or when its token is revoked.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>

#include "orchestrator/store.h"

namespace atelier::dashboard {

inline constexpr const char* kSessionCookie = "atelier_session";
inline constexpr const char* kLoginCookie = "atelier_login";

// A request that presented credentials that are not valid (answered 401).
class Unauthorized : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A request that may not do what it asked (answered 403).
class Forbidden : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// 32 random bytes as URL-safe base64 (43 characters).
std::string random_secret();

struct NewSession {
  std::string id;  // the cookie value
  SessionRow row;
};
NewSession open_session(Store& store, const TokenRow& token, int64_t now_ms, int64_t lifetime_ms);

// Set-Cookie values. Secure is left off: the dashboard serves plain HTTP on
// loopback; behind a TLS proxy the proxy adds it.
std::string session_cookie(const std::string& id, int64_t lifetime_ms);
std::string expired_cookie(const char* name, const char* path = "/");
std::string login_cookie(const std::string& nonce);

}  // namespace atelier::dashboard
