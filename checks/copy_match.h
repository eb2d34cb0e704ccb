// The copy matcher of the copyright check: which hashed works (registry entries,
// training images) an image is an edited copy of. Candidates come from a
// multi-index search of the PDQ hashes (media::HashIndex) within pdq_radius; each
// is then gated on its colour: the largest per-cell colour difference of the two
// colour layouts, each cell allowed a brightness gain (colour_gate_distance), must
// be under max_colour_distance, and PDQ distance plus colour_weight times that
// difference under max_combined: a copy may be far in PDQ or in colour, not both.
// The defaults and the figures behind them are in docs/checks.md.
//
// Invariants: find returns exactly the works within the radius that pass both
// gates, sorted by PDQ distance, then colour distance, then id; works whose hashes
// are unhashable are never matched (they are listed by unindexed()); the matcher
// is immutable after construction, so find may run concurrently.
#pragma once
#include <cstdint>
#include <vector>

#include "media/hash/colour_layout.h"
#include "media/hash/hash_index.h"
#include "media/hash/image_hashes.h"

namespace atelier::checks {

struct HashedWork {
  int64_t id;  // the caller's: a registry row id, an asset index
  media::ImageHashes hashes;
};

struct CopyMatch {
  int64_t id;
  int pdq_distance;        // bits of 256
  double colour_distance;  // colour_gate_distance, CIE76 delta E
  bool operator==(const CopyMatch&) const = default;
};

struct MatchPolicy {
  // Under 64, where multi-index search stops being sublinear (HashIndex scans).
  int pdq_radius = 40;
  double max_colour_distance = 20;
  double colour_weight = 1;
  double max_combined = 45;
};

// The copy matcher's colour gate measure, kept beside the colour layout it compares
// (media/hash/colour_layout.h) so that tracing a file reports the same distance.
using media::colour_gate_distance;

class CopyMatcher {
 public:
  // Throws std::invalid_argument for a policy outside its ranges (radius 0..63,
  // distances and weight not negative).
  explicit CopyMatcher(std::vector<HashedWork> works, MatchPolicy policy = {});

  // Matches, best first. Throws std::invalid_argument for an unhashable query
  // (quality under kPdqMinQuality): its all-zero or unstable hash would match
  // nothing or anything, and an empty answer would read as "no copy found", a pass,
  // for an image that was never compared. Callers check hashable() first and report
  // the image as unhashable.
  std::vector<CopyMatch> find(const media::ImageHashes& query) const;

  const MatchPolicy& policy() const { return policy_; }
  size_t indexed() const { return works_.size(); }
  // Ids of the works left out because their hashes are unhashable, in input order.
  const std::vector<int64_t>& unindexed() const { return unindexed_; }

 private:
  MatchPolicy policy_;
  std::vector<HashedWork> works_;  // works_[k] has id k in index_
  media::HashIndex index_;
  std::vector<int64_t> unindexed_;
};

}  // namespace atelier::checks
