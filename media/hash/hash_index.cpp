// Multi-index hashing; see hash_index.h.
#include "media/hash/hash_index.h"

#include <algorithm>

namespace atelier::media {

namespace {

uint16_t chunk(const Pdq256& h, int c) {
  return static_cast<uint16_t>(h.words[c / 4] >> (16 * (c % 4)));
}

// Calls fn(v) for every 16-bit v within `bits` flipped bits of `value`.
template <class Fn>
void near_values(uint16_t value, int bits, int from, Fn&& fn) {
  fn(value);
  if (bits == 0) return;
  for (int b = from; b < 16; ++b)
    near_values(static_cast<uint16_t>(value ^ (1u << b)), bits - 1, b + 1, fn);
}

void sort_matches(std::vector<HashIndex::Match>& m) {
  std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
  });
}

}  // namespace

HashIndex::HashIndex() {
  for (auto& t : tables_) t.resize(1u << 16);
}

uint32_t HashIndex::add(const Pdq256& hash) {
  const auto id = static_cast<uint32_t>(hashes_.size());
  hashes_.push_back(hash);
  for (int c = 0; c < kChunks; ++c) tables_[c][chunk(hash, c)].push_back(id);
  return id;
}

std::vector<HashIndex::Match> HashIndex::scan(const Pdq256& query, int radius) const {
  std::vector<Match> out;
  for (uint32_t id = 0; id < hashes_.size(); ++id)
    if (const int d = hamming(query, hashes_[id]); d <= radius) out.push_back({id, d});
  sort_matches(out);
  return out;
}

std::optional<HashIndex::Match> HashIndex::nearest(const Pdq256& query) const {
  std::optional<Match> best;
  for (uint32_t id = 0; id < hashes_.size(); ++id)
    if (const int d = hamming(query, hashes_[id]); !best || d < best->distance) best = {id, d};
  return best;
}

std::vector<HashIndex::Match> HashIndex::search(const Pdq256& query, int radius) const {
  if (radius < 0) return {};
  if (radius >= 4 * kChunks) return scan(query, radius);
  const int sub = radius / kChunks;
  std::vector<uint32_t> candidates;
  for (int c = 0; c < kChunks; ++c)
    near_values(chunk(query, c), sub, 0, [&](uint16_t v) {
      const auto& bucket = tables_[c][v];
      candidates.insert(candidates.end(), bucket.begin(), bucket.end());
    });
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<Match> out;
  for (uint32_t id : candidates)
    if (const int d = hamming(query, hashes_[id]); d <= radius) out.push_back({id, d});
  sort_matches(out);
  return out;
}

}  // namespace atelier::media
