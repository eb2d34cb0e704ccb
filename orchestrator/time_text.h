// Instants as text: "2026-12-03T02:00:00Z" (UTC, seconds). One format for the
// CLI's JSON, idempotency keys and the dashboard, so they can be compared.
#pragma once
#include <cstdint>
#include <ctime>
#include <string>

namespace atelier {

inline std::string utc_iso(int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace atelier
