// `atelier run`: submit (or take up the run its key names), then orchestrate
// until the run ends: supervisor, rescuer and cleaner in this process, live
// progress on stdout. SIGINT/SIGTERM drain the workers (they finish or release
// their jobs) and leave the run to be taken up again with the same --key;
// taking a run up revives its jobs that died of a full disk.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <random>
#include <thread>

#include "cli_util.h"
#include "common/errors.h"
#include "kinds/catalog.h"
#include "orchestrator/ids.h"
#include "orchestrator/orchestrator_loop.h"
#include "progress.h"

namespace atelier::cli {
namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

std::string random_key() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return std::string("run-") + buf;
}

}  // namespace

int cmd_run(const Globals& g, const SubmitArgs& args) {
  Workspace ws = open_workspace(g);
  SubmitArgs a = args;
  OrchestratorOptions opts = orchestrator_options(a.workers);
  if (!a.key) a.key = random_key();  // so an interrupted run can always be taken up again

  auto clock = system_clock();
  OrchestratorLoop loop(ws, clock, opts);
  Store& store = loop.store();
  NewRun run = prepare_run(ws, a, nullptr, &store);
  SubmitResult r = store.submit_run(run);
  const std::string ref = run_ref(r.run_id);
  store.audit(current_actor(), r.existing ? "run.resume" : "run", ref,
              {{"spec", run.spec_path}, {"key", *a.key}});
  std::cerr << (r.existing ? "taking up " : "submitted ") << ref << " (key " << *a.key << ")\n";
  // Jobs that died of a full disk (before a full disk made jobs wait instead)
  // were not at fault: taking the run up gives them their attempts back. Other
  // dead jobs stay dead (`atelier retry` revives those).
  if (r.existing) {
    if (const int revived = store.revive_disk_full(r.run_id); revived > 0) {
      store.audit(current_actor(), "run.revive", ref,
                  {{"jobs", revived}, {"reason", "disk full"}, {"key", *a.key}});
      std::cerr << "revived " << revived << " job(s) of " << ref
                << " that had ended dead on a full disk\n";
    }
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  ProgressView view(::isatty(STDOUT_FILENO) && !g.json);
  const int64_t tick_ms = ws.config().supervisor_tick_ms;
  bool interrupted = false;
  std::optional<RunRow> row;
  while (true) {
    loop.tick();
    row = store.get_run(r.run_id);
    if (!row) throw Failure("run " + ref + " disappeared from the database");
    if (!g.json) view.update(*row, store.job_counts(r.run_id, false));
    if (g_stop && !loop.supervisor().draining()) {
      interrupted = true;
      loop.begin_drain();
    }
    if (row->state != "running" && !loop.supervisor().draining()) loop.begin_drain();
    if (loop.drained()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
  }
  view.finish();
  row = store.get_run(r.run_id);
  if (g.json) {
    std::cout << run_status_json(store, *row).dump() << "\n";
  } else {
    std::cout << ref << " " << row->state << "\n";
    auto assets = store.list_assets(r.run_id);
    if (!assets.empty()) {
      std::cout << assets.size() << " output asset(s) under " << ws.assets_dir().string()
                << " (list them: atelier -w " << ws.dir().string() << " assets --run " << ref
                << ")\n";
    }
  }
  if (interrupted && row->state == "running") {
    std::cerr << "interrupted: " << ref << " is still running; take it up again with "
              << "`atelier run " << a.spec << " --key " << *a.key << "`\n";
    return 1;
  }
  if (r.existing && row->state == "failed")
    std::cerr << ref << " has dead jobs; `atelier retry " << ref
              << "` puts them back in the queue (taking a run up with --key revives only "
                 "the jobs a full disk killed)\n";
  return row->state == "succeeded" ? 0 : 1;
}

}  // namespace atelier::cli
