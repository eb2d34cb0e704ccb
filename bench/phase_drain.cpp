// DRAIN: N ready no-op jobs, W freshly started worker processes, timed from
// just before the first spawn until the run leaves "running" (as a user
// watching `atelier status` would see it), so worker start-up is included.
#include <chrono>
#include <stdexcept>
#include <thread>

#include "bench_db.h"
#include "bench_phases.h"
#include "child_procs.h"
#include "orchestrator/clock.h"
#include "orchestrator/workspace.h"

namespace atelier::bench {

DrainResult run_drain(const BenchOptions& o, const std::filesystem::path& ws_dir, int64_t run_id) {
  DrainResult r;
  Workspace ws = Workspace::open(ws_dir);
  auto store = ws.open_store();
  if (!store->get_run(run_id)) throw std::runtime_error("run to drain not found");
  const int64_t spawn_epoch_ms = system_clock()->now_ms();
  const auto t0 = std::chrono::steady_clock::now();
  {
    WorkerPool pool(o.atelier, ws_dir, o.workers);
    const auto give_up = t0 + std::chrono::minutes(30);
    for (;;) {
      std::optional<RunRow> run = store->get_run(run_id);
      if (run->state != "running") {
        r.run_state = run->state;
        break;
      }
      if (std::chrono::steady_clock::now() > give_up)
        throw std::runtime_error("the run did not finish within 30 minutes");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (pool.stop() != 0) throw std::runtime_error("a worker exited abnormally (see workers.log)");
  }
  BenchDb db(ws.db_path());
  const RunSpan span = db.run_span(run_id);
  r.db_span_ms = span.max_finished - span.min_started;
  r.first_claim_ms = span.min_attempt_started - spawn_epoch_ms;
  r.succeeded = span.succeeded;
  r.extra_attempts = span.attempts - span.jobs;
  r.jobs_per_worker = db.jobs_per_worker(run_id);
  return r;
}

}  // namespace atelier::bench
