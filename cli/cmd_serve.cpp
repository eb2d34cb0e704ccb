// `atelier serve`: one long-lived process with the supervisor and maintenance
// services (lease rescuer, cleaner), the scheduler, run-end webhooks and the
// dashboard (webhooks on a thread of their own). SIGTERM
// or SIGINT drains it: the dashboard stops taking requests, workers finish or
// release their jobs, and the process exits 0 once they are gone. Several serve
// processes may share a workspace (DESIGN.md s.3-4): leases are fenced and each
// schedule fires once per instant.
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "cli_util.h"
#include "common/errors.h"
#include "daemon_commands.h"
#include "dashboard/server.h"
#include "dashboard/webhook_post.h"
#include "orchestrator/notifier.h"
#include "orchestrator/orchestrator_loop.h"

namespace atelier::cli {

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}
}  // namespace

int cmd_serve(const Globals& g, const ServeArgs& a) {
  Workspace ws = open_workspace(g);
  dashboard::ServerOptions sopts;
  sopts.bind = a.bind;
  sopts.port = a.port;
  if (a.rate_limit > 0) {
    sopts.rate_per_second = a.rate_limit;
    sopts.rate_burst = 4 * a.rate_limit;
  } else {
    sopts.rate_per_second = sopts.rate_burst = 1e12;  // no limit
  }
  sopts.max_threads = a.max_threads;
  sopts.max_connections = a.max_connections;
  sopts.max_connections_per_client = a.max_connections_per_client;
  sopts.max_streams = a.max_streams > 0 ? a.max_streams : std::min(32, a.max_threads / 2);
  sopts.max_streams_per_client = a.max_streams_per_client;
  sopts.header_timeout_ms = static_cast<int64_t>(a.header_timeout_s * 1000);
  sopts.body_timeout_ms = static_cast<int64_t>(a.body_timeout_s * 1000);
  // Refused before anything starts, naming the flags.
  if (const std::string problem = dashboard::server_options_problem(sopts); !problem.empty())
    throw InputError("serve: " + problem);

  OrchestratorOptions opts = orchestrator_options(a.workers);
  auto clock = system_clock();
  OrchestratorLoop loop(ws, clock, opts);
  Store& store = loop.store();

  auto submit = [&ws](Store& s) {
    return [&ws, &s](const ScheduleRow& row, const std::string& key) {
      return submit_scheduled(ws, s, row, key);
    };
  };
  Scheduler scheduler(store, *clock, submit(store));
  // Webhooks on their own thread and connection: a slow receiver must not
  // hold up the scheduler and the supervisor.
  auto webhooks = std::make_unique<NotifierThread>(
      ws.open_store(clock), *clock, [](const std::string& url, const std::string& body) {
        return dashboard::post_json(url, body);
      });

  dashboard::DashboardOptions dopts;
  dopts.loopback = dashboard::is_loopback(a.bind);
  dopts.open_read = !a.no_open_read;
  dopts.logins.max_failures = a.max_failed_logins;
  dopts.logins.window_ms = static_cast<int64_t>(a.login_window_s * 1000);
  // Run-now from the dashboard submits on the request's own connection.
  dashboard::Dashboard dash(ws, clock, dopts,
                            [&ws](const ScheduleRow& row, const std::string& key) {
                              auto s = ws.open_store();
                              return submit_scheduled(ws, *s, row, key);
                            });
  dashboard::DashboardServer server(dash, clock, sopts);
  server.start();
  store.audit(current_actor(), "serve.start", server.url(), {{"pid", ::getpid()}});
  std::cout << "dashboard: " << server.url() << "/" << std::endl;
  if (!dopts.loopback)
    std::cerr << "serve: bound to " << a.bind << ": reading needs a token (atelier token create)\n";

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a browser closing a live stream is not an error

  const int64_t tick_ms = ws.config().supervisor_tick_ms;
  int64_t next_schedule_tick = 0;
  while (true) {
    loop.tick();
    const int64_t now = clock->now_ms();
    if (!loop.supervisor().draining() && now >= next_schedule_tick) {
      try {
        scheduler.tick();
      } catch (const std::exception& e) {
        std::cerr << "serve: scheduler: " << e.what() << "\n";
      }
      next_schedule_tick = now + 1000;
    }
    if (g_stop && !loop.supervisor().draining()) {
      std::cerr << "serve: draining (workers finish or release their jobs)\n";
      server.stop();
      webhooks->stop();  // after the post in flight, if any
      loop.begin_drain();
    }
    if (loop.drained()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
  }
  store.audit(current_actor(), "serve.stop", server.url(), {{"pid", ::getpid()}});
  std::cerr << "serve: stopped\n";
  return 0;
}

}  // namespace atelier::cli
