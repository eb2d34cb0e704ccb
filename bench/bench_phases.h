// The three measurements of atelier_queue_bench (enqueue, drain, dependency
// dispatch), each in its own fresh workspace, and what each reports.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace atelier::bench {

struct BenchOptions {
  std::filesystem::path atelier;  // the `atelier` binary the workers run as
  int jobs = 20000;
  int workers = 2;
  int chains = 500;
};

struct EnqueueResult {
  int64_t run_id = 0;
  double in_process_ms = 0;                           // parse_spec + expand_spec + submit_run
  double parse_ms = 0, expand_ms = 0, submit_ms = 0;  // its parts
  double cli_submit_ms = 0;  // `atelier submit` of the same spec, process start included
};

// Enqueues the N-job matrix into `ws_dir` in-process (the workspace the drain
// then uses) and, for comparison, through the CLI into `cli_ws_dir`.
EnqueueResult run_enqueue(const BenchOptions& o, const std::filesystem::path& ws_dir,
                          const std::filesystem::path& cli_ws_dir);

struct DrainResult {
  double ms = 0;               // first worker spawn -> run no longer "running"
  int64_t db_span_ms = 0;      // max(finished_at) - min(started_at) of the run's jobs
  int64_t first_claim_ms = 0;  // first worker spawn -> first attempt started (process start)
  std::string run_state;
  int64_t succeeded = 0;
  int64_t extra_attempts = 0;  // attempts beyond one per job (released or retried)
  std::map<std::string, int64_t> jobs_per_worker;
};

// Spawns the workers against the run already enqueued in `ws_dir` and waits for it to end.
DrainResult run_drain(const BenchOptions& o, const std::filesystem::path& ws_dir, int64_t run_id);

struct DispatchResult {
  std::vector<double> dispatch_ms;  // B's attempt start - A's finish, per chain
  std::vector<double> pickup_ms;    // A's attempt start - run created, per chain
  int same_worker = 0;              // chains whose B ran on A's worker
  int failed_runs = 0;
};

// Sequential A -> B runs on idle workers in a fresh workspace `ws_dir`.
DispatchResult run_dispatch(const BenchOptions& o, const std::filesystem::path& ws_dir);

// A one-stage spec of kind sleep (ms: 0) whose matrix has exactly `jobs` combinations.
std::string matrix_spec_text(int jobs);

}  // namespace atelier::bench
