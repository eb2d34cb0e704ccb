#include "cli_util.h"

#include "orchestrator/errors.h"
#include "orchestrator/model_files.h"

#include <ctime>

#include "orchestrator/ids.h"
#include "pipelines/imports.h"

namespace atelier::cli {

Workspace open_workspace(const Globals& g) {
  return Workspace::open(Workspace::resolve_dir(g.workspace));
}

NewRun prepare_run(const Workspace& ws, const SubmitArgs& a, PipelineSpec* spec_out, Store* store) {
  PipelineSpec spec =
      load_spec(a.spec, a.sets, {static_cast<size_t>(ws.config().max_jobs_per_run)});
  AssetStore files = ws.asset_store();
  import_spec_files(spec, store ? &files : nullptr, store);
  NewRun run = expand_spec(spec, ws.config().max_attempts,
                           static_cast<size_t>(ws.config().max_jobs_per_run));
  run.spec_path = std::filesystem::absolute(a.spec).string();
  run.submitter = current_actor();
  run.idem_key = a.key;
  if (spec_out) *spec_out = std::move(spec);
  return run;
}

std::filesystem::path find_model_file(const std::string& ref, const std::string& what) {
  namespace fs = std::filesystem;
  fs::path file = ref;
  if (fs::exists(file)) return file;
  WorkspaceConfig c;
  c.models.clear();
  std::string looked;
  for (const auto& d : model_search_dirs(c)) {
    if (fs::exists(d / (ref + ".safetensors"))) return d / (ref + ".safetensors");
    looked += " " + d.string();
  }
  throw InputError(what + " '" + ref + "' not found (looked in" + looked + ")");
}

std::string format_time(int64_t ms) {
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json run_status_json(Store& store, const RunRow& run) {
  json jobs = json::object();
  int64_t total = 0;
  for (const StateCount& c : store.job_counts(run.id, false)) {
    jobs[c.key] = c.count;
    total += c.count;
  }
  json stages = json::object();
  for (const StateCount& c : store.job_counts(run.id, true)) {
    auto slash = c.key.rfind('/');
    stages[c.key.substr(0, slash)][c.key.substr(slash + 1)] = c.count;
  }
  json out = {{"run", run_ref(run.id)},
              {"name", run.name},
              {"state", run.state},
              {"jobs", jobs},
              {"total", total},
              {"stages", stages},
              {"spec", run.spec_path},
              {"submitter", run.submitter},
              {"created_at", format_time(run.created_at)}};
  out["key"] = run.idem_key ? json(*run.idem_key) : json(nullptr);
  out["finished_at"] = run.finished_at ? json(format_time(*run.finished_at)) : json(nullptr);
  return out;
}

}  // namespace atelier::cli
