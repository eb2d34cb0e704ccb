// Synthetic 256-bit hashes for tests and benchmarks of hash search: uniform ones
// and near-duplicates made by flipping random bits (a bit may be drawn twice, so
// a flip of n moves a hash by at most n).
#pragma once
#include <random>

#include "media/hash/pdq.h"

namespace atelier::media {

inline Pdq256 random_hash(std::mt19937_64& rng) {
  Pdq256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

inline Pdq256 flip_bits(Pdq256 h, int bits, std::mt19937_64& rng) {
  for (int i = 0; i < bits; ++i) {
    const int k = static_cast<int>(rng() % 256);
    h.words[k / 64] ^= uint64_t{1} << (k % 64);
  }
  return h;
}

}  // namespace atelier::media
