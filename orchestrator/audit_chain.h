// The audit log as a hash chain. Each entry's hash covers its own fields and
// the previous entry's hash, so editing or deleting any entry breaks the link
// of every entry after it. Removing entries from the very end leaves a shorter
// chain that is still whole: `atelier audit verify` prints the head (last id
// and hash) so an auditor can keep it elsewhere and pass it back later with
// --expect-head, which catches that too.
//
// Invariant: entry_hash is a pure function of (prev_hash, id, at, actor,
// action, target, details text); the first entry's prev_hash is the empty string.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/store.h"

namespace atelier {

// sha256 hex of the entry's canonical form: a JSON array
// [prev_hash, id, at, actor, action, target, details_text].
std::string audit_entry_hash(const std::string& prev_hash, int64_t id, int64_t at,
                             const std::string& actor, const std::string& action,
                             const std::string& target, const std::string& details_text);

// An entry as the CLI's and the API's JSON show it.
json audit_entry_json(const EventRow& e);

struct ChainBreak {
  int64_t id = 0;   // the first entry whose link does not hold
  std::string why;  // "edited" (its hash does not match its fields), "deleted before it"...
};

// Walks entries in id order, carrying the previous hash across calls (start
// with an empty `prev` and `last_id` 0). Returns the breaks found in this page.
class AuditChainWalker {
 public:
  std::vector<ChainBreak> add(const std::vector<EventRow>& page);
  int64_t last_id() const { return last_id_; }
  const std::string& head_hash() const { return prev_; }
  int64_t entries() const { return entries_; }

 private:
  std::string prev_;
  int64_t last_id_ = 0;
  int64_t entries_ = 0;
};

}  // namespace atelier
