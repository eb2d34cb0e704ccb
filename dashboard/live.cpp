// Live updates over Server-Sent Events: GET /api/v1/stream?run=r12 sends a
// `run` event whenever the run's state, its stage counts or the progress of
// its running jobs change; without ?run it sends `queue` events when the queue
// depth by kind and state, the workers or the folders seen full change. Each stream polls with its
// own store connection (the request's one goes back to the pool when the
// handler returns) every live_poll_ms, sends a comment as a keep-alive, and
// ends when the client goes away or the server stops.
#include <chrono>
#include <thread>

#include "dashboard/dashboard.h"
#include "dashboard/views.h"
#include "common/errors.h"
#include "orchestrator/ids.h"
#include "orchestrator/run_status.h"

namespace atelier::dashboard {

using json = nlohmann::json;

namespace {

json run_snapshot(Store& store, int64_t run_id) {
  auto run = store.get_run(run_id);
  if (!run) return json{{"gone", true}};
  json status = run_status_json(store, *run);
  json running = json::array();
  for (const JobRow& j : store.leased_jobs())
    if (j.run_id == run_id)
      running.push_back({{"job", job_ref(j.id)},
                         {"stage", j.stage},
                         {"progress", j.progress},
                         {"progress_msg", j.progress_msg}});
  return {{"run", status["run"]},   {"state", status["state"]},
          {"jobs", status["jobs"]}, {"stages", status["stages"]},
          {"running", running},     {"quarantined", status["quarantined"].size()}};
}

json queue_snapshot(Store& store) {
  json queue = json::array();
  for (const KindStateCount& k : store.unfinished_counts_by_kind())
    queue.push_back({{"kind", k.kind}, {"state", k.state}, {"count", k.count}});
  return {{"queue", queue}, {"workers", workers_json(store)}, {"disk_full", disk_full_json(store)}};
}

}  // namespace

void add_live(Router& r) {
  r.add("GET", "/api/v1/stream", Need::read, [](Ctx& c) {
    std::optional<int64_t> run;
    if (auto it = c.req.query.find("run"); it != c.req.query.end() && !it->second.empty()) {
      run = run_param(it->second);
      if (!c.store.get_run(*run)) throw NotFound("no such run: " + it->second);
    }
    Reply rep;
    rep.content_type = "text/event-stream";
    rep.headers.emplace_back("Cache-Control", "no-cache");
    rep.headers.emplace_back("X-Accel-Buffering", "no");
    DashboardEnv& env = c.env;
    rep.stream = [&env, run](std::ostream& out, const std::function<bool()>& stopping) {
      auto store = env.ws.open_store(env.clock);
      out << "retry: 2000\n\n" << std::flush;
      std::string last;
      auto last_write = std::chrono::steady_clock::now();
      while (!stopping() && out.good()) {
        const json snap = run ? run_snapshot(*store, *run) : queue_snapshot(*store);
        std::string text = snap.dump();
        const auto now = std::chrono::steady_clock::now();
        if (text != last) {
          out << "event: " << (run ? "run" : "queue") << "\ndata: " << text << "\n\n" << std::flush;
          last = std::move(text);
          last_write = now;
        } else if (now - last_write > std::chrono::milliseconds(env.options.live_ping_ms)) {
          out << ": ping\n\n" << std::flush;
          last_write = now;
        }
        if (run && (snap.contains("gone") || snap["state"] != "running")) {
          out << "event: end\ndata: {}\n\n" << std::flush;  // nothing more will change
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(env.options.live_poll_ms));
      }
    };
    return rep;
  });
}

}  // namespace atelier::dashboard
