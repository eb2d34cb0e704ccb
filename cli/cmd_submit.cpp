// init, validate, submit.
#include <iostream>

#include "cli_util.h"
#include "orchestrator/ids.h"

namespace atelier::cli {

int cmd_init(const Globals& g, const std::optional<std::string>& dir) {
  std::filesystem::path d =
      dir ? std::filesystem::absolute(*dir) : Workspace::resolve_dir(g.workspace);
  Workspace ws = Workspace::init(d);
  ws.open_store()->audit(current_actor(), "init", ws.dir().string(), json::object());
  if (g.json) {
    std::cout << json{{"workspace", ws.dir().string()}, {"db", ws.db_path().string()}}.dump()
              << "\n";
  } else {
    std::cout << "workspace ready: " << ws.dir().string() << "\n";
  }
  return 0;
}

int cmd_validate(const Globals& g, const SubmitArgs& a) {
  PipelineSpec spec = load_spec(a.spec, a.sets);
  NewRun run = expand_spec(spec, 3);
  if (g.json) {
    std::cout << json{{"ok", true},
                      {"name", spec.name},
                      {"stages", spec.stages.size()},
                      {"jobs", run.jobs.size()}}
                     .dump()
              << "\n";
  } else {
    std::cout << a.spec << ": ok (" << spec.stages.size() << " stages, " << run.jobs.size()
              << " jobs)\n";
  }
  return 0;
}

int cmd_submit(const Globals& g, const SubmitArgs& a) {
  Workspace ws = open_workspace(g);
  NewRun run = prepare_run(ws, a);
  if (a.dry_run) {
    json jobs = json::array();
    for (const NewJob& j : run.jobs)
      jobs.push_back(
          {{"stage", j.stage}, {"kind", j.kind}, {"params", *j.params}, {"matrix", j.matrix}});
    if (g.json) {
      std::cout << json{{"name", run.name}, {"jobs", jobs}}.dump() << "\n";
    } else {
      std::cout << run.name << ": " << run.jobs.size() << " jobs would be enqueued\n";
      for (const json& j : jobs)
        std::cout << "  " << j["stage"].get<std::string>() << " " << j["kind"].get<std::string>()
                  << " " << j["matrix"].dump() << "\n";
    }
    return 0;
  }
  auto store = ws.open_store();
  SubmitResult r = store->submit_run(run);
  if (!r.existing) {
    store->audit(current_actor(), "submit", run_ref(r.run_id),
                 {{"spec", run.spec_path},
                  {"params", run.params},
                  {"key", run.idem_key ? json(*run.idem_key) : json()}});
  }
  if (g.json) {
    std::cout << json{{"run", run_ref(r.run_id)},
                      {"existing", r.existing},
                      {"jobs", run.jobs.size()}}
                     .dump()
              << "\n";
  } else {
    std::cout << run_ref(r.run_id) << "\n";
    if (r.existing) std::cerr << "(idempotency key already used: returning the existing run)\n";
  }
  return 0;
}

}  // namespace atelier::cli
