#include "lease_rescuer.h"

#include <spdlog/spdlog.h>

namespace atelier {

int LeaseRescuer::tick() {
  const int64_t t = clock_.now_ms();
  if (t < next_at_) return 0;
  next_at_ = t + interval_ms_;
  // One rescuer for the whole database, whichever host it runs on; another
  // takes over when this one's connection ends.
  if (!store_.hold_leadership("lease-rescuer")) return 0;
  int n = store_.rescue_expired_leases();
  if (n > 0) spdlog::warn("lease rescuer: took back {} expired lease(s)", n);
  return n;
}

}  // namespace atelier
