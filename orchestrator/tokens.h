// API tokens for `atelier serve`: "atl_" and 43 characters of URL-safe base64
// (32 random bytes). Only the sha256 of a token is stored (tokens table), so
// the database alone cannot act; the secret is shown once, when it is made.
// Roles: "viewer" reads, "admin" also acts (submit, cancel, retry, pause,
// resume, schedule changes).
#pragma once
#include <optional>
#include <string>

#include "orchestrator/store.h"

namespace atelier {

inline constexpr const char* kTokenPrefix = "atl_";

struct NewToken {
  std::string secret;  // shown once
  TokenRow row;        // id set once stored
};

// Makes and stores a token; InputError for an unknown role.
NewToken create_token(Store& store, const std::string& role, const std::string& name,
                      const std::string& created_by);
std::string token_hash(const std::string& secret);
// The token a presented secret names, if it is well-formed and not revoked.
std::optional<TokenRow> authenticate_token(Store& store, const std::string& presented);
// Whether `role` may do what needs `needed` ("viewer" < "admin").
bool role_allows(const std::string& role, const std::string& needed);

}  // namespace atelier
