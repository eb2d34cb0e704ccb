// The read side of /api/v1: every page's data as JSON (views.h builds it).
// Lists page by keyset (?before=ID from the previous page's next_before), so a
// page costs the same at job 10 and at job 1,000,000.
#include "dashboard/dashboard.h"
#include "dashboard/http_util.h"
#include "dashboard/views.h"
#include "common/errors.h"
#include "kinds/catalog.h"

namespace atelier::dashboard {

void add_read_api(Router& r) {
  r.add("GET", "/api/v1/overview", Need::read,
        [](Ctx& c) { return Reply::json_reply(overview_json(c)); });
  r.add("GET", "/api/v1/runs", Need::read, [](Ctx& c) { return Reply::json_reply(runs_json(c)); });
  r.add("GET", "/api/v1/runs/{run}", Need::read,
        [](Ctx& c) { return Reply::json_reply(run_json(c, run_param(c.param("run")))); });
  r.add("GET", "/api/v1/jobs", Need::read, [](Ctx& c) {
    Reply rep;
    rep.content_type = "application/json";
    rep.body = jobs_json_text(c);
    return rep;
  });
  r.add("GET", "/api/v1/jobs/{job}", Need::read,
        [](Ctx& c) { return Reply::json_reply(job_json(c, job_param(c.param("job")))); });
  r.add("GET", "/api/v1/assets/{sha}", Need::read, [](Ctx& c) {
    if (!is_sha256_hex(c.param("sha"))) throw NotFound("no such asset");
    return Reply::json_reply(asset_json(c, c.param("sha")));
  });
  r.add("GET", "/api/v1/schedules", Need::read,
        [](Ctx& c) { return Reply::json_reply(schedules_json(c)); });
  r.add("GET", "/api/v1/audit", Need::read,
        [](Ctx& c) { return Reply::json_reply(audit_json(c)); });
  r.add("GET", "/api/v1/workers", Need::read, [](Ctx& c) {
    return Reply::json_reply({{"workers", workers_json(c.store)}});
  });
  // Every job kind with its parameters, as `atelier kinds --json` prints it.
  r.add("GET", "/api/v1/kinds", Need::read,
        [](Ctx&) { return Reply::json_reply({{"kinds", kinds_json()}}); });
  r.add("GET", "/api/v1/whoami", Need::nothing, [](Ctx& c) {
    return Reply::json_reply(
        {{"name", c.who.name}, {"role", c.who.role}, {"via_cookie", c.who.via_cookie}});
  });
}

}  // namespace atelier::dashboard
