// Everything the dashboard changes: submit, cancel, retry, pause, resume,
// schedule changes, login and logout. Each route needs an admin (dashboard.h
// checks the token, the role and, for a browser session, the CSRF token) and
// writes an audit entry naming who did it. A form post comes back to its
// `back` page (a local path only); anything else gets JSON.
#include <fstream>

#include "common/errors.h"
#include "dashboard/auth.h"
#include "dashboard/dashboard.h"
#include "dashboard/http_util.h"
#include "dashboard/page_layout.h"
#include "dashboard/views.h"
#include "kinds/catalog.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/file_scope.h"
#include "orchestrator/ids.h"
#include "orchestrator/tokens.h"
#include "pipelines/prepare_run.h"

namespace atelier::dashboard {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxSpecBytes = 512 * 1024;

// A field from the JSON body or the form.
std::string field(const Ctx& c, const char* k) {
  if (c.req.json.is_object() && c.req.json.contains(k) && c.req.json[k].is_string())
    return c.req.json[k].get<std::string>();
  auto it = c.req.form.find(k);
  return it == c.req.form.end() ? "" : it->second;
}

std::vector<std::string> sets_field(const Ctx& c) {
  std::vector<std::string> sets;
  if (c.req.json.is_object() && c.req.json.contains("sets")) {
    const json& s = c.req.json["sets"];
    if (!s.is_array()) throw InputError("sets: expected a list of \"key=value\" strings");
    for (const json& v : s) {
      if (!v.is_string()) throw InputError("sets: expected a list of \"key=value\" strings");
      sets.push_back(v.get<std::string>());
    }
  }
  return sets;
}

Reply done(const Ctx& c, const json& result) {
  const std::string back = field(c, "back");
  if (!c.req.form.empty() && is_local_path(back)) return Reply::redirect(back);
  return Reply::json_reply(result);
}

Reply control(Ctx& c, const char* action, bool run, bool retry) {
  const std::string target =
      run ? run_ref(run_param(c.param("run"))) : job_ref(job_param(c.param("job")));
  int n = 0;
  if (run) {
    const int64_t id = run_param(c.param("run"));
    if (!c.store.get_run(id)) throw NotFound("no such run: " + target);
    n = retry ? c.store.retry_run(id) : c.store.cancel_run(id);
  } else {
    const int64_t id = job_param(c.param("job"));
    if (!c.store.get_job(id)) throw NotFound("no such job: " + target);
    n = retry ? c.store.retry_job(id) : c.store.cancel_job(id);
  }
  c.store.audit(c.who.actor(), action, target, {{"jobs", n}, {"via", "dashboard"}});
  return done(c, {{"action", action}, {"target", target}, {"jobs", n}});
}

Reply pause(Ctx& c, bool paused) {
  const std::string kind = c.param("kind");
  if (!find_kind(kind))
    throw NotFound("unknown kind '" + kind + "' (known: " + known_kinds_list() + ")");
  c.store.set_paused(kind, paused);
  c.store.audit(c.who.actor(), paused ? "pause" : "resume", kind, {{"via", "dashboard"}});
  return done(c, {{"kind", kind}, {"paused", paused}});
}

// The spec text is kept content-addressed under specs/, so the run's spec_path
// names the exact text that was submitted.
Reply submit(Ctx& c) {
  const std::string text = field(c, "spec");
  if (text.empty()) throw InputError("spec: the pipeline spec's YAML text is required");
  if (text.size() > kMaxSpecBytes) throw InputError("spec: larger than 512 KiB");
  const std::filesystem::path dir = c.env.ws.dir() / "specs";
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / (sha256_hex(text).substr(0, 16) + ".yaml");
  if (!std::filesystem::exists(file)) {
    std::ofstream out(file, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + file.string());
  }
  std::optional<std::string> key;
  if (!field(c, "key").empty()) key = field(c, "key");
  NewRun run =
      prepare_run(c.env.ws, {file, sets_field(c), key, c.who.actor(), true}, nullptr, &c.store);
  const SubmitResult r = c.store.submit_run(run);
  if (!r.existing)
    c.store.audit(c.who.actor(), "submit", run_ref(r.run_id),
                  {{"spec", file.string()},
                   {"params", run.params},
                   {"via", "dashboard"},
                   {"key", key ? json(*key) : json(nullptr)}});
  json out = {{"run", run_ref(r.run_id)}, {"existing", r.existing}, {"jobs", run.jobs.size()}};
  if (!c.req.form.empty()) return Reply::redirect("/runs/" + run_ref(r.run_id));
  return Reply::json_reply(out, r.existing ? 200 : 201);
}

Reply schedule_add(Ctx& c) {
  ScheduleRow s;
  s.name = field(c, "name");
  s.cron = field(c, "cron");
  s.timezone = field(c, "timezone").empty() ? "UTC" : field(c, "timezone");
  s.missed = field(c, "missed").empty() ? "skip" : field(c, "missed");
  s.spec_path = field(c, "spec_path");
  if (s.spec_path.empty()) throw InputError("spec_path: the spec file on the server is required");
  // The spec file is read on the server: only where an API submission may read.
  s.spec_path = FileScope(c.env.ws.config(), true).check_read(s.spec_path, "spec_path").string();
  s.confined = true;
  const auto sets = sets_field(c);
  for (const std::string& kv : sets) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("sets: " + kv + ": expected key=value");
    s.params[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  s.created_by = c.who.actor();
  const int64_t first = validate_schedule(s, c.env.clock->now_ms());
  prepare_run(c.env.ws, {s.spec_path, sets, std::nullopt, s.created_by, true});
  c.store.add_schedule(s);
  c.store.audit(
      c.who.actor(), "schedule.add", s.name,
      {{"cron", s.cron}, {"timezone", s.timezone}, {"spec", s.spec_path}, {"via", "dashboard"}});
  return Reply::json_reply({{"schedule", s.name}, {"first_fire_at", first}}, 201);
}

Reply schedule_rm(Ctx& c) {
  const std::string name = c.param("name");
  if (!c.store.remove_schedule(name)) throw NotFound("no such schedule: " + name);
  c.store.audit(c.who.actor(), "schedule.rm", name, {{"via", "dashboard"}});
  return done(c, {{"schedule", name}, {"removed", true}});
}

Reply schedule_run_now(Ctx& c) {
  Scheduler sched(c.store, *c.env.clock, c.env.submit_schedule);
  const ScheduledSubmit r = sched.run_now(c.param("name"), c.who.actor());
  return done(c, {{"schedule", c.param("name")}, {"run", run_ref(r.run_id)}});
}

Reply login(Ctx& c) {
  // The nonce in the form must match the cookie the login page set: a page on
  // another site can post a form here but cannot read or set that cookie.
  const auto cookie = cookie_value(c.req.cookie, kLoginCookie);
  const std::string nonce = field(c, "login_nonce");
  if (!cookie || nonce.empty() || *cookie != nonce)
    throw Forbidden("the login form expired; open /login again");
  auto token = authenticate_token(c.store, field(c, "token"));
  if (!token) {
    c.env.logins.failed(c.store, c.req.client);  // audited per window, not per try
    throw Unauthorized("that token is not valid here");
  }
  const NewSession s =
      open_session(c.store, *token, c.env.clock->now_ms(), c.env.options.session_ms);
  c.store.audit("web:" + token->name, "login", "token " + std::to_string(token->id),
                {{"from", c.req.client}});
  const std::string next = field(c, "next");
  Reply r = Reply::redirect(is_local_path(next) ? next : "/");
  r.headers.emplace_back("Set-Cookie", session_cookie(s.id, c.env.options.session_ms));
  r.headers.emplace_back("Set-Cookie", expired_cookie(kLoginCookie, "/login"));
  return r;
}

Reply logout(Ctx& c) {
  const auto sid = cookie_value(c.req.cookie, kSessionCookie);
  if (!c.who.via_cookie || !sid) return Reply::redirect("/");
  if (field(c, "csrf") != c.who.csrf) throw Forbidden("the form's CSRF token is missing or wrong");
  c.store.remove_session(token_hash(*sid));
  c.store.audit(c.who.actor(), "logout", "token " + std::to_string(c.who.token_id), json::object());
  Reply r = Reply::redirect("/");
  r.headers.emplace_back("Set-Cookie", expired_cookie(kSessionCookie));
  return r;
}

}  // namespace

void add_actions(Router& r) {
  r.add("POST", "/api/v1/runs", Need::act, submit);
  r.add("POST", "/api/v1/runs/{run}/cancel", Need::act,
        [](Ctx& c) { return control(c, "cancel", true, false); });
  r.add("POST", "/api/v1/runs/{run}/retry", Need::act,
        [](Ctx& c) { return control(c, "retry", true, true); });
  r.add("POST", "/api/v1/jobs/{job}/cancel", Need::act,
        [](Ctx& c) { return control(c, "cancel", false, false); });
  r.add("POST", "/api/v1/jobs/{job}/retry", Need::act,
        [](Ctx& c) { return control(c, "retry", false, true); });
  r.add("POST", "/api/v1/kinds/{kind}/pause", Need::act, [](Ctx& c) { return pause(c, true); });
  r.add("POST", "/api/v1/kinds/{kind}/resume", Need::act, [](Ctx& c) { return pause(c, false); });
  r.add("POST", "/api/v1/schedules", Need::act, schedule_add);
  r.add("POST", "/api/v1/schedules/{name}/delete", Need::act, schedule_rm);
  r.add("DELETE", "/api/v1/schedules/{name}", Need::act, schedule_rm);
  r.add("POST", "/api/v1/schedules/{name}/run-now", Need::act, schedule_run_now);
  r.add("POST", "/login", Need::nothing, login);
  r.add("POST", "/logout", Need::nothing, logout);
}

}  // namespace atelier::dashboard
