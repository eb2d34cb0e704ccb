// Instants as text: "2026-12-03T02:00:00Z" (UTC, seconds) for the CLI's JSON and
// idempotency keys, so they can be compared, and one readable form for pages.
#pragma once
#include <cstdint>
#include <ctime>
#include <string>

namespace atelier {

inline std::string utc_format(int64_t ms, const char* format) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

inline std::string utc_iso(int64_t ms) {
  return utc_format(ms, "%Y-%m-%dT%H:%M:%SZ");
}

// For people: "2026-12-03 02:00:05 UTC" (pages and reports).
inline std::string utc_text(int64_t ms) {
  return utc_format(ms, "%Y-%m-%d %H:%M:%S UTC");
}

}  // namespace atelier
