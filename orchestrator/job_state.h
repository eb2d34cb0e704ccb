// The job state machine of DESIGN.md section 2 as pure logic: which transitions
// exist, which states are terminal, and the retry backoff. The store applies
// these in SQL; tests check them here without a database.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atelier {

enum class JobState { waiting, ready, leased, succeeded, dead, cancelled, skipped };

std::string_view to_string(JobState s);
std::optional<JobState> parse_job_state(std::string_view s);

bool is_terminal(JobState s);
// True when the state machine has an edge from -> to.
bool can_transition(JobState from, JobState to);

enum class RunState { running, succeeded, failed, cancelled };
std::string_view to_string(RunState s);

struct RetryPolicy {
  int64_t base_ms = 1000;    // delay after the first failure
  int64_t max_ms = 300'000;  // cap
  double jitter = 0.2;       // +-fraction of the delay, uniformly
  // A job that met a full disk waits disk_full_ms * 2^(n-1) after its n-th
  // such attempt (capped at max_ms, same jitter); these attempts do not count.
  int64_t disk_full_ms = 5000;
};

// Delay before the next attempt after `failures` failed attempts (1-based):
// base * 2^(failures-1), capped, then scaled by (1 + jitter * (2u - 1)) where
// u in [0,1) comes from the caller so the result is deterministic in tests.
int64_t backoff_ms(const RetryPolicy& p, int failures, double u);

// The run's final state once none of its jobs is unfinished.
RunState final_run_state(int64_t dead, int64_t cancelled, int64_t skipped);

}  // namespace atelier
