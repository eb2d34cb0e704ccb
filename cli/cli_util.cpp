#include "cli_util.h"

#include <map>

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
  // Verdicts by check and verdict, and the assets a gate quarantined (with the
  // failing checks and, for a registry match, the work's label).
  json verdicts = json::object(), quarantined = json::array();
  std::map<std::string, size_t> q_index;
  for (const CheckRow& c : store.run_checks(run.id)) {
    json& kind = verdicts[c.check_kind];
    kind[c.verdict] =
        kind.is_object() && kind.contains(c.verdict) ? kind[c.verdict].get<int>() + 1 : 1;
    if (!c.quarantined || !c.sha256) continue;
    auto [it, fresh] = q_index.emplace(*c.sha256, quarantined.size());
    if (fresh)
      quarantined.push_back({{"sha256", *c.sha256},
                             {"job", c.job_id ? json(job_ref(*c.job_id)) : json(nullptr)},
                             {"checks", json::array()}});
    json why = {{"check", c.check_kind}};
    if (c.details.contains("label")) why["label"] = c.details["label"];
    if (c.details.contains("reason")) why["reason"] = c.details["reason"];
    quarantined[it->second]["checks"].push_back(std::move(why));
  }
  out["checks"] = verdicts;
  out["quarantined"] = quarantined;
  return out;
}

}  // namespace atelier::cli
