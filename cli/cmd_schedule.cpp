// `atelier schedule add|list|rm|run-now`: the cron schedules `atelier serve`
// fires (orchestrator/scheduler.h). A schedule names a spec file, read again at
// each fire; adding one validates the spec, the cron expression and the zone
// now, so a typo is an error here and not a failed fire at 02:00.
#include <iostream>

#include "cli_util.h"
#include "common/errors.h"
#include "daemon_commands.h"
#include "orchestrator/cron.h"
#include "orchestrator/ids.h"
#include "orchestrator/scheduler.h"
#include "pipelines/prepare_run.h"

namespace atelier::cli {

namespace {

json sets_to_params(const std::vector<std::string>& sets) {
  json p = json::object();
  for (const std::string& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--set " + s + ": expected key=value");
    p[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return p;
}

std::vector<std::string> params_to_sets(const json& params) {
  std::vector<std::string> sets;
  for (auto it = params.begin(); it != params.end(); ++it)
    sets.push_back(it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump()));
  return sets;
}

std::string when(const std::optional<int64_t>& ms, const std::string& tz) {
  if (!ms) return "-";
  if (*ms == std::numeric_limits<int64_t>::max()) return "never";
  return format_in_zone(*ms, tz);
}

}  // namespace

ScheduledSubmit submit_scheduled(const Workspace& ws, Store& store, const ScheduleRow& s,
                                 const std::string& key) {
  const RunRequest req{s.spec_path, params_to_sets(s.params), key, "schedule:" + s.name,
                       s.confined};
  NewRun run = prepare_run(ws, req, nullptr, &store);
  const SubmitResult r = store.submit_run(run);
  return {r.run_id, r.existing};
}

int cmd_schedule_add(const Globals& g, const ScheduleArgs& a) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  ScheduleRow s;
  s.name = a.name;
  s.cron = a.cron;
  s.timezone = a.timezone;
  s.missed = a.missed;
  s.spec_path = std::filesystem::absolute(a.spec).string();
  s.params = sets_to_params(a.sets);
  s.enabled = !a.disabled;
  s.created_by = current_actor();
  const int64_t first = validate_schedule(s, system_clock()->now_ms());
  // The spec must validate today with these params (files are checked, not imported).
  prepare_run(ws, {s.spec_path, a.sets, std::nullopt, s.created_by});
  store->add_schedule(s);
  store->audit(s.created_by, "schedule.add", s.name,
               {{"cron", s.cron},
                {"timezone", s.timezone},
                {"spec", s.spec_path},
                {"params", s.params},
                {"missed", s.missed},
                {"enabled", s.enabled}});
  if (g.json) {
    std::cout << json{{"schedule", s.name}, {"first_fire_at", first}}.dump() << "\n";
  } else {
    std::cout << "schedule " << s.name << ": \"" << s.cron << "\" in " << s.timezone
              << "; first fire " << format_in_zone(first, s.timezone) << " (when `atelier serve` "
              << "is running)\n";
  }
  return 0;
}

int cmd_schedule_list(const Globals& g) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  json out = json::array();
  for (const ScheduleRow& s : store->list_schedules()) {
    const auto fires = store->schedule_fires(s.name, 1);
    json j = {{"name", s.name},         {"cron", s.cron},
              {"timezone", s.timezone}, {"spec", s.spec_path},
              {"params", s.params},     {"missed", s.missed},
              {"enabled", s.enabled},   {"created_by", s.created_by}};
    j["next_fire_at"] = s.next_fire_at ? json(*s.next_fire_at) : json(nullptr);
    j["last_fire_at"] = s.last_fire_at ? json(*s.last_fire_at) : json(nullptr);
    if (!fires.empty()) {
      const ScheduleFire& f = fires.front();
      j["last"] = {{"fire_at", f.fire_at},
                   {"outcome", f.outcome},
                   {"run", f.run_id ? json(run_ref(*f.run_id)) : json(nullptr)},
                   {"detail", f.detail}};
    }
    if (!g.json) {
      std::cout << s.name << (s.enabled ? "" : " (disabled)") << "  \"" << s.cron << "\" "
                << s.timezone << "  missed: " << s.missed << "\n  spec " << s.spec_path;
      if (!s.params.empty()) std::cout << " " << s.params.dump();
      std::cout << "\n  next " << when(s.next_fire_at, s.timezone);
      if (!fires.empty())
        std::cout << "; last " << when(fires.front().fire_at, s.timezone) << " "
                  << fires.front().outcome
                  << (fires.front().run_id ? " " + run_ref(*fires.front().run_id) : "")
                  << (fires.front().detail.empty() ? "" : " (" + fires.front().detail + ")");
      std::cout << "\n";
    }
    out.push_back(std::move(j));
  }
  if (g.json)
    std::cout << out.dump() << "\n";
  else if (out.empty())
    std::cout << "no schedules (add one: atelier schedule add NAME --cron ... SPEC)\n";
  return 0;
}

int cmd_schedule_rm(const Globals& g, const std::string& name) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  if (!store->remove_schedule(name)) throw NotFound("no such schedule: " + name);
  store->audit(current_actor(), "schedule.rm", name, json::object());
  if (!g.json) std::cout << "removed schedule " << name << "\n";
  return 0;
}

int cmd_schedule_run_now(const Globals& g, const std::string& name) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  Scheduler sched(*store, *system_clock(), [&](const ScheduleRow& s, const std::string& key) {
    return submit_scheduled(ws, *store, s, key);
  });
  const ScheduledSubmit r = sched.run_now(name, current_actor());
  if (g.json)
    std::cout << json{{"schedule", name}, {"run", run_ref(r.run_id)}}.dump() << "\n";
  else
    std::cout << run_ref(r.run_id) << "\n";
  return 0;
}

}  // namespace atelier::cli
