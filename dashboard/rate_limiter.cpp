// See rate_limiter.h.
#include "dashboard/rate_limiter.h"

#include <algorithm>

namespace atelier::dashboard {

bool RateLimiter::allow(const std::string& key) {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  if (now >= next_sweep_ms_) {
    // A bucket idle long enough to be full again carries no state worth keeping.
    const double full_after_ms = rate_ > 0 ? burst_ / rate_ * 1000 : 60'000;
    std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.at_ms > full_after_ms; });
    next_sweep_ms_ = now + 60'000;
  }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + (now - b.at_ms) / 1000.0 * rate_);
    b.at_ms = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace atelier::dashboard
