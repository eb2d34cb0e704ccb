// cancel, retry, pause, resume: state-changing, so each is written to the audit log.
#include <iostream>

#include "cli_util.h"
#include "common/errors.h"
#include "kinds/catalog.h"
#include "orchestrator/ids.h"

namespace atelier::cli {

namespace {
void report(const Globals& g, const std::string& action, const std::string& target, int n) {
  if (g.json) {
    std::cout << json{{"action", action}, {"target", target}, {"jobs", n}}.dump() << "\n";
  } else {
    std::cout << action << " " << target << ": " << n << " job(s)\n";
  }
}
}  // namespace

int cmd_cancel(const Globals& g, const std::string& target) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  TypedId id = parse_id(target);
  int n = 0;
  if (id.kind == IdKind::run) {
    if (!store->get_run(id.id)) throw NotFound("no such run: " + target);
    n = store->cancel_run(id.id);
  } else {
    n = store->cancel_job(id.id);
  }
  store->audit(current_actor(), "cancel", target, {{"jobs", n}});
  report(g, "cancel", target, n);
  return 0;
}

int cmd_retry(const Globals& g, const std::string& target) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  TypedId id = parse_id(target);
  int n = id.kind == IdKind::run ? store->retry_run(id.id) : store->retry_job(id.id);
  store->audit(current_actor(), "retry", target, {{"jobs", n}});
  report(g, "retry", target, n);
  return 0;
}

int cmd_pause(const Globals& g, const std::string& kind, bool paused) {
  if (!find_kind(kind))
    throw InputError("unknown kind '" + kind + "' (known: " + known_kinds_list() + ")");
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  store->set_paused(kind, paused);
  store->audit(current_actor(), paused ? "pause" : "resume", kind, json::object());
  if (g.json) {
    std::cout << json{{"kind", kind}, {"paused", paused}}.dump() << "\n";
  } else {
    std::cout << kind << (paused ? " paused" : " resumed") << "\n";
  }
  return 0;
}

}  // namespace atelier::cli
