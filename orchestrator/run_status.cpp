// See run_status.h.
#include "orchestrator/run_status.h"

#include <map>

#include "orchestrator/ids.h"
#include "orchestrator/time_text.h"

namespace atelier {

json disk_full_json(Store& store) {
  json full = json::array();
  for (const DiskFullRow& d : store.disk_full())
    full.push_back({{"host", d.host},
                    {"path", d.path},
                    {"error", d.error},
                    {"free_bytes", d.free_bytes},
                    {"since", utc_iso(d.since)},
                    {"seen_at", utc_iso(d.seen_at)}});
  return full;
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
              {"created_at", utc_iso(run.created_at)}};
  out["key"] = run.idem_key ? json(*run.idem_key) : json(nullptr);
  out["finished_at"] = run.finished_at ? json(utc_iso(*run.finished_at)) : json(nullptr);
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
  // A full disk holds up every run, so the folders seen full are listed with
  // each; waiting_for_space counts this run's jobs that wait for it.
  json full = disk_full_json(store);
  out["waiting_for_space"] = full.empty() ? 0 : store.waiting_for_space(run.id);
  out["disk_full"] = std::move(full);
  return out;
}

}  // namespace atelier
