// init, validate, submit.
#include <iostream>

#include "cli_util.h"
#include "orchestrator/ids.h"
#include "pipelines/imports.h"
#include "provenance/workspace_key.h"

namespace atelier::cli {

int cmd_init(const Globals& g, const std::optional<std::string>& dir,
             const std::optional<std::string>& db, const std::optional<std::string>& assets) {
  std::filesystem::path d =
      dir ? std::filesystem::absolute(*dir) : Workspace::resolve_dir(g.workspace);
  Workspace ws = provenance::init_workspace(d, db, assets);
  ws.open_store()->audit(current_actor(), "init", ws.dir().string(), json::object());
  if (g.json) {
    std::cout << json{{"workspace", ws.dir().string()}, {"db", ws.describe_store()}}.dump() << "\n";
  } else {
    std::cout << "workspace ready: " << ws.dir().string() << "\n";
  }
  return 0;
}

namespace {

// The job plan: jobs per stage (dynamic stages say what they wait for) and,
// as JSON, every job with its params and expanded variables.
void print_plan(const Globals& g, const PipelineSpec& spec, const NewRun& run, bool with_jobs) {
  json stages = json::array();
  for (const StageSpec& s : spec.stages) {
    size_t n = 0;
    for (const NewJob& j : run.jobs) n += j.stage == s.id && j.kind != "expand";
    json st = {{"stage", s.id}, {"kind", s.kind}, {"jobs", n}};
    if (is_deferred(spec, s))
      st["made_when"] =
          s.for_each.empty() ? "the stage it groups has run" : s.for_each + " has run";
    stages.push_back(std::move(st));
  }
  if (g.json) {
    json out = {{"name", run.name}, {"stages", stages}, {"total", run.jobs.size()}};
    if (with_jobs) {
      json jobs = json::array();
      for (const NewJob& j : run.jobs)
        jobs.push_back(
            {{"stage", j.stage}, {"kind", j.kind}, {"params", *j.params}, {"matrix", j.matrix}});
      out["jobs"] = std::move(jobs);
    }
    std::cout << out.dump() << "\n";
    return;
  }
  for (const json& st : stages) {
    std::cout << "  " << st["stage"].get<std::string>() << " (" << st["kind"].get<std::string>()
              << "): ";
    if (st.contains("made_when")) {
      std::cout << "jobs made when " << st["made_when"].get<std::string>() << "\n";
    } else {
      std::cout << st["jobs"] << " job(s)\n";
    }
  }
  if (with_jobs) {
    for (const NewJob& j : run.jobs)
      std::cout << "    " << j.stage << " " << j.kind << " " << j.matrix.dump() << "\n";
  }
}

}  // namespace

int cmd_validate(const Globals& g, const SubmitArgs& a) {
  // The workspace's fan-out limit when there is one, so validate and submit agree.
  SpecLimits limits;
  int max_attempts = 3;
  const auto dir = Workspace::resolve_dir(g.workspace);
  if (std::filesystem::exists(dir / "atelier.yaml")) {
    const Workspace ws = Workspace::open(dir);
    limits.max_jobs = static_cast<size_t>(ws.config().max_jobs_per_run);
    max_attempts = ws.config().max_attempts;
  }
  PipelineSpec spec = load_spec(a.spec, a.sets, limits);
  import_spec_files(spec, nullptr, nullptr);  // files must exist; nothing is written
  NewRun run = expand_spec(spec, max_attempts, limits.max_jobs);
  if (!g.json)
    std::cout << a.spec << ": ok (" << spec.stages.size() << " stages, " << run.jobs.size()
              << " jobs at submission)\n";
  print_plan(g, spec, run, false);
  return 0;
}

int cmd_submit(const Globals& g, const SubmitArgs& a) {
  Workspace ws = open_workspace(g);
  if (a.dry_run) {
    PipelineSpec spec;
    NewRun run = prepare_run(ws, a, &spec);
    if (!g.json)
      std::cout << run.name << ": " << run.jobs.size() << " job(s) would be enqueued (dry run)\n";
    print_plan(g, spec, run, true);
    return 0;
  }
  auto store = ws.open_store();
  NewRun run = prepare_run(ws, a, nullptr, store.get());
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
