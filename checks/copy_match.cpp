// Copy matching over hashed works; see copy_match.h.
#include "checks/copy_match.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace atelier::checks {

namespace {

void check_policy(const MatchPolicy& p) {
  if (p.pdq_radius < 0 || p.pdq_radius > 63)
    throw std::invalid_argument(
        "copy match: pdq_radius must be 0..63 (64 and over is a scan), got " +
        std::to_string(p.pdq_radius));
  if (!(p.max_colour_distance >= 0))
    throw std::invalid_argument("copy match: max_colour_distance must not be negative");
  if (!(p.colour_weight >= 0))
    throw std::invalid_argument("copy match: colour_weight must not be negative");
  if (!(p.max_combined >= 0))
    throw std::invalid_argument("copy match: max_combined must not be negative");
}

}  // namespace

CopyMatcher::CopyMatcher(std::vector<HashedWork> works, MatchPolicy policy) : policy_(policy) {
  check_policy(policy_);
  for (auto& w : works) {
    if (!w.hashes.hashable()) {
      unindexed_.push_back(w.id);
      continue;
    }
    index_.add(w.hashes.pdq);
    works_.push_back(std::move(w));
  }
}

std::vector<CopyMatch> CopyMatcher::find(const media::ImageHashes& query) const {
  if (!query.hashable())
    throw std::invalid_argument(
        "copy match: the query is unhashable (PDQ quality " + std::to_string(query.quality) +
        ", under " + std::to_string(media::kPdqMinQuality) + "); check hashable() first");
  std::vector<CopyMatch> out;
  for (const auto& m : index_.search(query.pdq, policy_.pdq_radius)) {
    const HashedWork& w = works_[m.id];
    const double c = colour_gate_distance(query.colour, w.hashes.colour);
    if (c > policy_.max_colour_distance) continue;
    if (m.distance + policy_.colour_weight * c > policy_.max_combined) continue;
    out.push_back({w.id, m.distance, c});
  }
  std::sort(out.begin(), out.end(), [](const CopyMatch& a, const CopyMatch& b) {
    if (a.pdq_distance != b.pdq_distance) return a.pdq_distance < b.pdq_distance;
    if (a.colour_distance != b.colour_distance) return a.colour_distance < b.colour_distance;
    return a.id < b.id;
  });
  return out;
}

}  // namespace atelier::checks
