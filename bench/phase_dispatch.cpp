// DISPATCH: how long a dependent waits after its dependency completes. Runs of
// two jobs A -> B are submitted one at a time to idle workers; both timestamps
// come from the DB (A's finished_at, B's first attempt's started_at), which
// stores milliseconds, so each sample is a whole number of ms.
#include <chrono>
#include <stdexcept>
#include <thread>

#include "bench_db.h"
#include "bench_phases.h"
#include "child_procs.h"
#include "orchestrator/workspace.h"

namespace atelier::bench {

namespace {
NewRun chain_run(const std::string& actor) {
  NewRun run;
  run.name = "dispatch-chain";
  run.spec_path = "(atelier_queue_bench)";
  run.submitter = actor;
  NewJob a;
  a.stage = "a";
  a.kind = "sleep";
  a.params = std::make_shared<const json>(json{{"ms", 0}});
  NewJob b = a;
  b.stage = "b";
  b.deps = {0};
  run.jobs = {a, b};
  return run;
}

void wait_for_workers(BenchDb& db, int count) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (db.registered_workers() < count) {
    if (std::chrono::steady_clock::now() > give_up)
      throw std::runtime_error("workers did not register within 30 s (see workers.log)");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Registration comes just before the first (empty) claim; this lets every
  // worker reach its idle wait, the state the samples are meant to start from.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}
}  // namespace

DispatchResult run_dispatch(const BenchOptions& o, const std::filesystem::path& ws_dir) {
  DispatchResult r;
  Workspace ws = Workspace::init(ws_dir);
  auto store = ws.open_store();
  BenchDb db(ws.db_path());
  const NewRun run = chain_run(current_actor());
  {
    WorkerPool pool(o.atelier, ws_dir, o.workers);
    wait_for_workers(db, o.workers);
    for (int i = 0; i < o.chains; ++i) {
      const int64_t id = store->submit_run(run).run_id;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (store->get_run(id)->state == "running") {
        if (std::chrono::steady_clock::now() > give_up)
          throw std::runtime_error("a dispatch chain did not finish within 30 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (pool.stop() != 0) throw std::runtime_error("a worker exited abnormally (see workers.log)");
  }
  for (const ChainTimes& c : db.chains()) {
    if (c.state != "succeeded" || !c.a_started || !c.a_finished || !c.b_started) {
      ++r.failed_runs;
      continue;
    }
    r.dispatch_ms.push_back(static_cast<double>(*c.b_started - *c.a_finished));
    r.pickup_ms.push_back(static_cast<double>(*c.a_started - c.created_at));
    if (c.a_worker == c.b_worker) ++r.same_worker;
  }
  return r;
}

}  // namespace atelier::bench
