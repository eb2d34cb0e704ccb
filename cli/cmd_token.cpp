// `atelier token create|list|revoke`: tokens for the dashboard's API and
// actions (orchestrator/tokens.h). The secret is printed once, by create.
#include <iostream>

#include "cli_util.h"
#include "common/errors.h"
#include "daemon_commands.h"
#include "orchestrator/tokens.h"

namespace atelier::cli {

int cmd_token_create(const Globals& g, const std::string& role, const std::string& name) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const NewToken t = create_token(*store, role, name, current_actor());
  store->audit(current_actor(), "token.create", "token " + std::to_string(t.row.id),
               {{"name", t.row.name}, {"role", t.row.role}});
  if (g.json) {
    std::cout << json{{"id", t.row.id},
                      {"name", t.row.name},
                      {"role", t.row.role},
                      {"token", t.secret}}
                     .dump()
              << "\n";
  } else {
    std::cout << t.secret << "\n";
    std::cerr << "token " << t.row.id << " (" << t.row.role << ", \"" << t.row.name
              << "\"): shown once; only its hash is kept. Send it as "
              << "`Authorization: Bearer TOKEN`, or log in with it on the dashboard.\n";
  }
  return 0;
}

int cmd_token_list(const Globals& g) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  json out = json::array();
  for (const TokenRow& t : store->list_tokens()) {
    out.push_back({{"id", t.id},
                   {"name", t.name},
                   {"role", t.role},
                   {"created_at", t.created_at},
                   {"created_by", t.created_by},
                   {"revoked_at", t.revoked_at ? json(*t.revoked_at) : json(nullptr)},
                   {"last_used_at", t.last_used_at ? json(*t.last_used_at) : json(nullptr)}});
    if (!g.json)
      std::cout << t.id << "  " << t.role << "  " << t.name << "  made "
                << format_time(t.created_at) << " by " << t.created_by
                << (t.last_used_at ? "  last used " + format_time(*t.last_used_at) : "")
                << (t.revoked_at ? "  REVOKED " + format_time(*t.revoked_at) : "") << "\n";
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

int cmd_token_revoke(const Globals& g, int64_t id) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  if (!store->revoke_token(id)) throw NotFound("no such unrevoked token: " + std::to_string(id));
  store->audit(current_actor(), "token.revoke", "token " + std::to_string(id), json::object());
  if (!g.json) std::cout << "revoked token " << id << "\n";
  return 0;
}

}  // namespace atelier::cli
