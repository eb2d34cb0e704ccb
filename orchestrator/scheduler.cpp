// See scheduler.h.
#include "orchestrator/scheduler.h"

#include <limits>

#include "orchestrator/cron.h"
#include "common/errors.h"
#include "orchestrator/ids.h"
#include "orchestrator/time_text.h"

namespace atelier {

namespace {

constexpr const char* kActor = "scheduler";
// A schedule whose cron never matches again (cron.h looks five years ahead)
// parks here instead of being fired or dropped.
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Counting missed fire times after a long outage stops here; the policy acts
// on the latest one either way.
constexpr int kMaxMissedWalk = 100'000;

}  // namespace

std::string fire_key(const std::string& name, int64_t fire_at_ms) {
  return "schedule:" + name + "@" + utc_iso(fire_at_ms);
}

int64_t validate_schedule(const ScheduleRow& s, int64_t after_ms) {
  if (s.name.empty() || s.name.size() > 100 ||
      s.name.find_first_of(" \t\r\n@/") != std::string::npos)
    throw InputError("schedule name '" + s.name +
                     "': use 1 to 100 characters without spaces, '@' or '/'");
  if (s.missed != kMissedSkip && s.missed != kMissedCatchUp)
    throw InputError("schedule " + s.name + ": missed: '" + s.missed +
                     "' is not a policy (skip or catch-up)");
  check_time_zone(s.timezone);
  const CronSchedule cron = parse_cron(s.cron);
  auto next = next_fire_ms(cron, s.timezone, after_ms);
  if (!next)
    throw InputError("schedule " + s.name + ": cron \"" + s.cron +
                     "\" never fires (no matching date in the next five years)");
  return *next;
}

Scheduler::Scheduler(Store& store, const Clock& clock, SubmitSchedule submit, int64_t grace_ms)
    : store_(store), clock_(clock), submit_(std::move(submit)), grace_ms_(grace_ms) {}

int Scheduler::tick() {
  const int64_t now = clock_.now_ms();
  int submitted = 0;
  for (const ScheduleRow& s : store_.list_schedules()) {
    if (!s.enabled) continue;
    if (s.next_fire_at && *s.next_fire_at > now) continue;
    try {
      act_on(s, now, submitted);
    } catch (const std::exception& e) {
      // A schedule that can no longer be read (a cron or zone this build does
      // not know) must not stop the others: it is recorded and parked.
      store_.audit(kActor, "schedule.error", s.name, {{"error", e.what()}});
      store_.advance_schedule(s.name, s.next_fire_at, kNever, std::nullopt);
    }
  }
  return submitted;
}

void Scheduler::act_on(const ScheduleRow& s, int64_t now, int& submitted) {
  const CronSchedule cron = parse_cron(s.cron);
  auto after = [&](int64_t t) { return next_fire_ms(cron, s.timezone, t).value_or(kNever); };
  if (!s.next_fire_at) {
    // A new schedule: its first fire is the first cron time after it was made,
    // so one added at 01:59 for 02:00 still fires at 02:00.
    store_.advance_schedule(s.name, std::nullopt, after(std::max<int64_t>(s.created_at, 0) - 1),
                            std::nullopt);
    return;
  }
  const int64_t due = *s.next_fire_at;
  if (due == kNever) return;
  int64_t latest = due;
  int earlier = 0;  // fire times before `latest` that came while no scheduler acted
  for (int64_t n = after(latest); n <= now && earlier < kMaxMissedWalk; n = after(latest)) {
    latest = n;
    ++earlier;
  }
  const bool on_time = now - latest <= grace_ms_;
  std::optional<int64_t> fired;
  if (earlier > 0) {
    // The times before the latest are never run on their own under either
    // policy: one run stands for them (catch-up, or the latest being on time).
    const std::string what = std::to_string(earlier) + " fire time(s) from " + utc_iso(due) +
                             " passed while no scheduler was running";
    if (store_.record_fire({s.name, due, now, "skipped", std::nullopt, what}))
      store_.audit(kActor, "schedule.skip", s.name, {{"from", utc_iso(due)}, {"count", earlier}});
  }
  if (on_time || s.missed == kMissedCatchUp) {
    const std::string detail =
        on_time ? "" : "catch-up: missed by " + std::to_string((now - latest) / 1000) + " s";
    if (fire(s, latest, detail)) ++submitted;
    fired = latest;
  } else if (store_.record_fire(
                 {s.name, latest, now, "skipped", std::nullopt,
                  "missed by " + std::to_string((now - latest) / 1000) + " s (policy skip)"})) {
    store_.audit(kActor, "schedule.skip", s.name, {{"fire_at", utc_iso(latest)}, {"count", 1}});
  }
  store_.advance_schedule(s.name, due, after(now), fired);
}

bool Scheduler::fire(const ScheduleRow& s, int64_t fire_at, const std::string& detail) {
  if (store_.find_fire(s.name, fire_at)) return false;  // another scheduler did it
  const std::string key = fire_key(s.name, fire_at);
  ScheduledSubmit r;
  try {
    r = submit_(s, key);
  } catch (const std::exception& e) {
    if (store_.record_fire({s.name, fire_at, clock_.now_ms(), "failed", std::nullopt, e.what()}))
      store_.audit(kActor, "schedule.fail", s.name,
                   {{"fire_at", utc_iso(fire_at)}, {"error", e.what()}});
    return false;
  }
  if (!store_.record_fire({s.name, fire_at, clock_.now_ms(), "submitted", r.run_id, detail}))
    return false;
  store_.audit(kActor, "schedule.fire", s.name,
               {{"fire_at", utc_iso(fire_at)}, {"run", run_ref(r.run_id)}, {"key", key}});
  return !r.existing;
}

ScheduledSubmit Scheduler::run_now(const std::string& name, const std::string& actor) {
  auto s = store_.get_schedule(name);
  if (!s) throw NotFound("no such schedule: " + name);
  const int64_t now = clock_.now_ms();
  const std::string key = "schedule:" + name + "@run-now:" + std::to_string(now);
  const ScheduledSubmit r = submit_(*s, key);
  store_.record_fire({name, now, now, "submitted", r.run_id, "run-now by " + actor});
  store_.audit(actor, "schedule.run-now", name, {{"run", run_ref(r.run_id)}, {"key", key}});
  return r;
}

}  // namespace atelier
