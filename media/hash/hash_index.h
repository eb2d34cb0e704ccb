// Hamming-radius search over 256-bit hashes by multi-index hashing (Norouzi et al.):
// each hash is cut into 16 chunks of 16 bits, and chunk c of every stored hash is
// filed under its value in table c. Two hashes within distance r agree to within
// floor(r / 16) bits on at least one chunk (pigeonhole), so a query probes, in each
// table, every value within that many bits of its own chunk, and checks the full
// distance of the ids it finds there. Radius 31 probes 16 x 17 buckets, whatever
// the number of hashes stored.
//
// Invariants: ids are insertion order, from 0; search returns exactly what a linear
// scan returns (the tests compare them), sorted by distance then id; radius 64 and
// above, where probing would cost more than a scan, is a scan. Queries are const
// and may run concurrently; adding is not synchronised with them.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "media/hash/pdq.h"

namespace atelier::media {

class HashIndex {
 public:
  HashIndex();

  uint32_t add(const Pdq256& hash);
  size_t size() const { return hashes_.size(); }
  const Pdq256& at(uint32_t id) const { return hashes_.at(id); }

  struct Match {
    uint32_t id = 0;
    int distance = 0;
    bool operator==(const Match&) const = default;
  };
  std::vector<Match> search(const Pdq256& query, int radius) const;
  // The same answer by comparing with every stored hash (tests, benchmarks).
  std::vector<Match> scan(const Pdq256& query, int radius) const;
  // The closest stored hash (the lowest id among equals), at any distance: what a
  // search that found nothing can still name. nullopt when the index is empty.
  std::optional<Match> nearest(const Pdq256& query) const;

 private:
  static constexpr int kChunks = 16;
  std::vector<Pdq256> hashes_;
  // tables_[c][v]: ids whose chunk c has value v.
  std::array<std::vector<std::vector<uint32_t>>, kChunks> tables_;
};

}  // namespace atelier::media
