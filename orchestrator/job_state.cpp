#include "job_state.h"

#include <algorithm>
#include <cmath>

namespace atelier {

std::string_view to_string(JobState s) {
  switch (s) {
    case JobState::waiting:
      return "waiting";
    case JobState::ready:
      return "ready";
    case JobState::leased:
      return "leased";
    case JobState::succeeded:
      return "succeeded";
    case JobState::dead:
      return "dead";
    case JobState::cancelled:
      return "cancelled";
    case JobState::skipped:
      return "skipped";
  }
  return "?";
}

std::optional<JobState> parse_job_state(std::string_view s) {
  for (JobState st : {JobState::waiting, JobState::ready, JobState::leased, JobState::succeeded,
                      JobState::dead, JobState::cancelled, JobState::skipped}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

bool is_terminal(JobState s) {
  return s == JobState::succeeded || s == JobState::dead || s == JobState::cancelled ||
         s == JobState::skipped;
}

bool can_transition(JobState from, JobState to) {
  using S = JobState;
  if (to == S::cancelled) return !is_terminal(from);
  switch (from) {
    case S::waiting:
      return to == S::ready || to == S::skipped;
    case S::ready:
      return to == S::leased;
    case S::leased:
      // skipped: a check gate upstream left it no input (its dependents go on).
      return to == S::succeeded || to == S::ready || to == S::dead || to == S::skipped;
    // `atelier retry` puts finished jobs back in the queue.
    case S::dead:
    case S::cancelled:
    case S::skipped:
      return to == S::ready || to == S::waiting;
    case S::succeeded:
      return false;
  }
  return false;
}

std::string_view to_string(RunState s) {
  switch (s) {
    case RunState::running:
      return "running";
    case RunState::succeeded:
      return "succeeded";
    case RunState::failed:
      return "failed";
    case RunState::cancelled:
      return "cancelled";
  }
  return "?";
}

int64_t backoff_ms(const RetryPolicy& p, int failures, double u) {
  int shift = std::clamp(failures - 1, 0, 40);
  double delay = static_cast<double>(p.base_ms) * std::pow(2.0, shift);
  delay = std::min(delay, static_cast<double>(p.max_ms));
  delay *= 1.0 + p.jitter * (2.0 * std::clamp(u, 0.0, 1.0) - 1.0);
  return std::max<int64_t>(0, static_cast<int64_t>(std::llround(delay)));
}

RunState final_run_state(int64_t dead, int64_t cancelled, int64_t skipped) {
  if (dead > 0) return RunState::failed;
  if (cancelled > 0) return RunState::cancelled;
  // Jobs skipped only because an upstream job died or was cancelled: the run
  // already says so above. Skips without either (a gate left no input) succeed.
  (void)skipped;
  return RunState::succeeded;
}

}  // namespace atelier
