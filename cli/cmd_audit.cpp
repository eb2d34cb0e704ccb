// `atelier audit [--limit N]` prints the audit log, newest first; `atelier
// audit verify [--expect-head ID:HASH]` walks its hash chain
// (orchestrator/audit_chain.h) and exits 1 naming the first entries whose
// links do not hold. The head it prints is what an auditor keeps to catch
// entries later removed from the end.
#include <iostream>

#include "cli_util.h"
#include "common/errors.h"
#include "daemon_commands.h"
#include "orchestrator/audit_chain.h"

namespace atelier::cli {

int cmd_audit_list(const Globals& g, int limit) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  json out = json::array();
  for (const EventRow& e : store->recent_events(limit)) {
    if (g.json)
      out.push_back(audit_entry_json(e));
    else
      std::cout << e.id << "  " << format_time(e.at) << "  " << e.actor << "  " << e.action << "  "
                << e.target << "  " << e.details_text << "\n";
  }
  if (g.json) std::cout << out.dump() << "\n";
  return 0;
}

int cmd_audit_verify(const Globals& g, const std::optional<std::string>& expect_head) {
  std::optional<std::pair<int64_t, std::string>> expected;
  if (expect_head) {
    const auto colon = expect_head->find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      expected.emplace(std::stoll(expect_head->substr(0, colon)), expect_head->substr(colon + 1));
    } catch (const std::exception&) {
      throw InputError("--expect-head " + *expect_head + ": expected ID:HASH as verify printed it");
    }
  }
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  AuditChainWalker walk;
  std::vector<ChainBreak> breaks;
  std::optional<std::string> hash_at_expected;
  for (;;) {
    auto page = store->events_after(walk.last_id(), 5000);
    if (page.empty()) break;
    for (const EventRow& e : page)
      if (expected && e.id == expected->first) hash_at_expected = e.hash.value_or("");
    for (ChainBreak& b : walk.add(page)) breaks.push_back(std::move(b));
  }
  if (expected) {
    if (walk.last_id() < expected->first)
      breaks.push_back({expected->first, "the log ends at entry " + std::to_string(walk.last_id()) +
                                             ": entries up to the expected head were removed"});
    else if (hash_at_expected != expected->second)
      breaks.push_back({expected->first,
                        "its hash is not the expected head's: the log was "
                        "rewritten up to it"});
  }
  const bool ok = breaks.empty();
  if (g.json) {
    json b = json::array();
    for (const ChainBreak& x : breaks) b.push_back({{"id", x.id}, {"why", x.why}});
    std::cout << json{{"valid", ok},
                      {"entries", walk.entries()},
                      {"head", std::to_string(walk.last_id()) + ":" + walk.head_hash()},
                      {"breaks", b}}
                     .dump()
              << "\n";
  } else {
    std::cout << "audit log: " << walk.entries() << " entries, " << (ok ? "chain intact" : "BROKEN")
              << "\n";
    for (const ChainBreak& x : breaks) std::cout << "  entry " << x.id << ": " << x.why << "\n";
    std::cout << "head " << walk.last_id() << ":" << walk.head_hash() << "\n";
  }
  return ok ? 0 : 1;
}

}  // namespace atelier::cli
