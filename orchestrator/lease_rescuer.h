// The lease rescuer: takes back leases whose holder stopped heartbeating (a
// frozen or vanished worker, maybe on another host) and returns the jobs to the
// queue with backoff, or ends them dead when attempts are exhausted. It runs
// only in the process that holds the store's "lease-rescuer" leadership (on
// PostgreSQL an advisory lock; on SQLite every process); two at once would
// still be safe: every takeover is fenced by the attempt number.
#pragma once
#include <cstdint>

#include "clock.h"
#include "store.h"

namespace atelier {

class LeaseRescuer {
 public:
  LeaseRescuer(Store& store, const Clock& clock, int64_t interval_ms)
      : store_(store), clock_(clock), interval_ms_(interval_ms) {}
  // Runs a pass when the interval has passed; returns the leases taken back.
  int tick();

 private:
  Store& store_;
  const Clock& clock_;
  int64_t interval_ms_;
  int64_t next_at_ = 0;
};

}  // namespace atelier
