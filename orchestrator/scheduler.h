// The scheduler (a maintenance service of `atelier serve`): submits each
// enabled schedule's spec at the fire times of its cron expression, read in the
// schedule's time zone (cron.h says how DST gaps and overlaps are read).
//
// Invariants:
// - One fire per scheduled instant, across restarts and across several serve
//   processes on one workspace: the run is submitted with the idempotency key
//   fire_key(name, instant), and the fire is recorded once (schedule_fires'
//   primary key); only the process whose record lands writes the audit entry.
// - next_fire_at only moves forward, from the value the scheduler read
//   (Store::advance_schedule), so two schedulers never both advance it.
// - Missed fires (no scheduler was running, or it was stalled for longer than
//   the grace period) are handled by the schedule's policy: "skip" records
//   them as skipped and waits for the next time; "catch-up" submits one run for
//   the latest missed time. A fire within the grace period is on time.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "clock.h"
#include "store.h"

namespace atelier {

struct ScheduledSubmit {
  int64_t run_id = 0;
  bool existing = false;  // the key named a run already there (another scheduler got there)
};
// Submits the schedule's spec with the given idempotency key. Throws (any
// exception: a missing spec file, a spec that no longer validates) to record
// the fire as failed.
using SubmitSchedule = std::function<ScheduledSubmit(const ScheduleRow&, const std::string& key)>;

inline constexpr const char* kMissedSkip = "skip";
inline constexpr const char* kMissedCatchUp = "catch-up";

// "schedule:NAME@2026-12-03T02:00:00Z": the idempotency key of a fire.
std::string fire_key(const std::string& name, int64_t fire_at_ms);

// Checks a schedule's cron, time zone and missed policy (InputError naming the
// field) and returns its first fire time after `after_ms`.
int64_t validate_schedule(const ScheduleRow& s, int64_t after_ms);

class Scheduler {
 public:
  Scheduler(Store& store, const Clock& clock, SubmitSchedule submit, int64_t grace_ms = 60'000);
  // Acts on every enabled schedule whose next fire time has come. Returns how
  // many runs this call submitted.
  int tick();
  // Submits the schedule at once, outside its cron times (recorded as a fire
  // at the current time; the next cron fire is unchanged).
  ScheduledSubmit run_now(const std::string& name, const std::string& actor);

 private:
  void act_on(const ScheduleRow& s, int64_t now, int& submitted);
  // Submits and records one fire; returns true when this call made the run.
  bool fire(const ScheduleRow& s, int64_t fire_at, const std::string& detail);

  Store& store_;
  const Clock& clock_;
  SubmitSchedule submit_;
  int64_t grace_ms_;
};

}  // namespace atelier
