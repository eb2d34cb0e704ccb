// status, jobs, logs, assets: read-only views of the job database.
#include <fstream>
#include <iostream>

#include "cli_util.h"
#include "common/errors.h"
#include "orchestrator/ids.h"

namespace atelier::cli {

int cmd_status(const Globals& g, const std::optional<std::string>& run) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  std::optional<RunRow> row = run ? store->get_run(parse_run_id(*run)) : store->latest_run();
  if (!row)
    throw NotFound(run ? "no such run: " + *run : "no runs in " + ws.dir().string() + " yet");
  json s = run_status_json(*store, *row);
  if (g.json) {
    std::cout << s.dump() << "\n";
  } else {
    std::cout << s["run"].get<std::string>() << "  " << row->name << "  " << row->state << "  ("
              << s["total"] << " jobs, submitted " << s["created_at"].get<std::string>() << " by "
              << row->submitter << ")\n";
    for (auto it = s["stages"].begin(); it != s["stages"].end(); ++it) {
      std::cout << "  " << it.key() << ":";
      for (auto c = it->begin(); c != it->end(); ++c)
        std::cout << " " << c.key() << " " << c.value();
      std::cout << "\n";
    }
    for (auto it = s["checks"].begin(); it != s["checks"].end(); ++it) {
      std::cout << "  check " << it.key() << ":";
      for (auto c = it->begin(); c != it->end(); ++c)
        std::cout << " " << c.key() << " " << c.value();
      std::cout << "\n";
    }
    if (!s["quarantined"].empty())
      std::cout << "  quarantined (kept out of later stages by a check gate):\n";
    for (const json& q : s["quarantined"]) {
      std::cout << "    " << q["sha256"].get<std::string>().substr(0, 16);
      for (const json& why : q["checks"]) {
        std::cout << "  " << why["check"].get<std::string>();
        if (why.contains("label")) std::cout << " (" << why["label"].get<std::string>() << ")";
      }
      std::cout << "\n";
    }
    for (const json& d : s["disk_full"])
      std::cout << "  disk full: " << d["path"].get<std::string>() << " on "
                << d["host"].get<std::string>() << " since " << d["since"].get<std::string>()
                << " (last seen " << d["seen_at"].get<std::string>()
                << "): " << s["waiting_for_space"]
                << " job(s) of this run wait for space; no attempt is spent while they do\n"
                << "    " << d["error"].get<std::string>() << "\n";
  }
  return row->state == "failed" ? 1 : 0;
}

int cmd_jobs(const Globals& g, const std::optional<std::string>& run,
             const std::optional<std::string>& state, const std::optional<std::string>& kind) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  JobFilter f;
  if (run) f.run_id = parse_run_id(*run);
  if (state) {
    if (!parse_job_state(*state))
      throw InputError("--state " + *state +
                       ": not a job state (waiting ready leased succeeded dead cancelled skipped)");
    f.state = *state;
  }
  f.kind = kind;
  json out = json::array();
  for (;;) {
    auto page = store->list_jobs(f);
    for (const JobRow& j : page) {
      json o = {{"job", job_ref(j.id)},   {"run", run_ref(j.run_id)}, {"stage", j.stage},
                {"kind", j.kind},         {"state", j.state},         {"attempt", j.attempt},
                {"failures", j.failures}, {"priority", j.priority},   {"params", j.params},
                {"matrix", j.matrix},     {"progress", j.progress}};
      o["error"] = j.error ? json(*j.error) : json(nullptr);
      o["worker"] = j.lease_owner ? json(*j.lease_owner) : json(nullptr);
      if (g.json) {
        out.push_back(std::move(o));
      } else {
        std::cout << job_ref(j.id) << "\t" << run_ref(j.run_id) << "\t" << j.stage << "\t" << j.kind
                  << "\t" << j.state << "\tattempt " << j.attempt
                  << (j.error ? "\t" + *j.error : "") << "\n";
      }
    }
    if (page.size() < static_cast<size_t>(f.limit)) break;
    f.after_id = page.back().id;
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

int cmd_logs(const Globals& g, const std::string& job) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const int64_t id = parse_job_id(job);
  if (!store->get_job(id)) throw NotFound("no such job: " + job);
  auto attempts = store->attempts(id);
  if (attempts.empty()) std::cout << job_ref(id) << " has not run yet\n";
  for (const AttemptRow& a : attempts) {
    std::cout << "== " << job_ref(id) << " attempt " << a.attempt << " on " << a.worker_id
              << " (pid " << a.pid << "): " << a.outcome << (a.error ? " - " + *a.error : "")
              << "\n";
    std::ifstream in(a.log_path);
    if (in) {
      std::cout << in.rdbuf();
    } else {
      std::cout << "(no log output)\n";
    }
  }
  return 0;
}

int cmd_assets(const Globals& g, const std::optional<std::string>& run) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  std::optional<int64_t> run_id;
  if (run) {
    run_id = parse_run_id(*run);
    if (!store->get_run(*run_id)) throw NotFound("no such run: " + *run);
  }
  AssetStore files = ws.asset_store();
  json out = json::array();
  for (const AssetRow& a : store->list_assets(run_id)) {
    const std::string path = files.path_for(a.sha256, a.ext).string();
    if (g.json) {
      out.push_back({{"sha256", a.sha256},
                     {"path", path},
                     {"media_type", a.media_type},
                     {"job", job_ref(*a.job_id)},
                     {"name", a.name},
                     {"bytes", a.bytes}});
    } else {
      std::cout << a.sha256 << "\t" << job_ref(*a.job_id) << "\t" << a.media_type << "\t" << path
                << "\n";
    }
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace atelier::cli
