// `atelier host --db URL --assets PATH`: one worker host of a shared job
// database. Its folder (-w, default the current one) is a local workspace that
// names the shared store and asset path and holds this host's logs; the first
// run writes it, later runs check it names the same store. The supervisor runs
// only this host's worker processes (their ids are HOST:PID); the lease
// rescuer runs on whichever host holds its leadership, the cleaner likewise.
// SIGTERM or SIGINT drains: workers finish or release their jobs, then exit 0.
#include <signal.h>

#include <iostream>
#include <thread>

#include "cli_util.h"
#include "common/errors.h"
#include "orchestrator/orchestrator_loop.h"
#include "provenance/workspace_key.h"
#include "store_commands.h"

namespace atelier::cli {

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}
}  // namespace

int cmd_host(const Globals& g, const HostArgs& a) {
  const auto dir = Workspace::resolve_dir(g.workspace);
  Workspace ws = provenance::init_workspace(dir, a.db, a.assets, /*create_store=*/false);
  if (!ws.shared_store())
    throw InputError("--db " + a.db +
                     ": a worker host needs a database other hosts reach "
                     "(postgresql://...)");
  OrchestratorOptions opts = orchestrator_options(a.workers);
  auto clock = system_clock();
  OrchestratorLoop loop(ws, clock, opts);
  Store& store = loop.store();
  store.audit(current_actor(), "host.start", host_name(), {{"pid", ::getpid()}});
  std::cerr << "host " << host_name() << ": serving " << ws.describe_store() << " with assets at "
            << ws.assets_dir().string() << "\n";

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const int64_t tick_ms = ws.config().supervisor_tick_ms;
  while (true) {
    loop.tick();
    if (g_stop && !loop.supervisor().draining()) {
      std::cerr << "host: draining (workers finish or release their jobs)\n";
      loop.begin_drain();
    }
    if (loop.drained()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
  }
  store.audit(current_actor(), "host.stop", host_name(), {{"pid", ::getpid()}});
  std::cerr << "host: stopped\n";
  return 0;
}

}  // namespace atelier::cli
