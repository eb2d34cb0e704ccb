// Request rate limits per client: a token bucket per key (the client's
// address), refilled at `per_second` up to `burst`. Time comes from the
// injected clock, so tests step it instead of sleeping. Thread-safe; idle
// buckets are forgotten so the table cannot grow without bound.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "orchestrator/clock.h"

namespace atelier::dashboard {

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double per_second, double burst)
      : clock_(clock), rate_(per_second), burst_(burst) {}
  // Takes one token for `key`; false when its bucket is empty (answer 429).
  bool allow(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    int64_t at_ms;
  };
  const Clock& clock_;
  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  int64_t next_sweep_ms_ = 0;
};

}  // namespace atelier::dashboard
