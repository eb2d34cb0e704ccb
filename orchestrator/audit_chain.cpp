// See audit_chain.h.
#include "orchestrator/audit_chain.h"

#include "orchestrator/asset_store.h"

namespace atelier {

std::string audit_entry_hash(const std::string& prev_hash, int64_t id, int64_t at,
                             const std::string& actor, const std::string& action,
                             const std::string& target, const std::string& details_text) {
  // A JSON array keeps field boundaries unambiguous ("ab","c" vs "a","bc").
  const json canonical = json::array({prev_hash, id, at, actor, action, target, details_text});
  return sha256_hex(canonical.dump());
}

json audit_entry_json(const EventRow& e) {
  return {{"id", e.id},         {"at", e.at},         {"actor", e.actor},
          {"action", e.action}, {"target", e.target}, {"details", e.details}};
}

std::vector<ChainBreak> AuditChainWalker::add(const std::vector<EventRow>& page) {
  std::vector<ChainBreak> breaks;
  for (const EventRow& e : page) {
    ++entries_;
    if (!e.hash || !e.prev_hash) {
      breaks.push_back({e.id, "has no hash (written outside the chain)"});
    } else {
      if (*e.prev_hash != prev_)
        breaks.push_back({e.id, last_id_ + 1 != e.id
                                    ? "the entries between " + std::to_string(last_id_) +
                                          " and it were deleted or changed"
                                    : "its link to the entry before it does not match (that "
                                      "entry was edited, or this link was)"});
      const std::string want =
          audit_entry_hash(*e.prev_hash, e.id, e.at, e.actor, e.action, e.target, e.details_text);
      if (want != *e.hash) breaks.push_back({e.id, "edited: its fields do not match its hash"});
    }
    prev_ = e.hash.value_or("");
    last_id_ = e.id;
  }
  return breaks;
}

}  // namespace atelier
