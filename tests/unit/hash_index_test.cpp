// Multi-index hashing against a linear scan: on hashes clustered in families of
// near-duplicates (as image hashes are) and scattered ones, every radius gives
// exactly the scan's answer, in the same order.
#include <gtest/gtest.h>

#include <random>

#include "media/hash/hash_index.h"
#include "media/hash/synthetic_hashes.h"

using namespace atelier::media;

TEST(HashIndex, SearchAgreesWithAScanAtEveryRadius) {
  std::mt19937_64 rng(7);
  HashIndex index;
  std::vector<Pdq256> centres;
  for (int f = 0; f < 200; ++f) {
    centres.push_back(random_hash(rng));
    for (int k = 0; k < 10; ++k)
      index.add(flip_bits(centres.back(), static_cast<int>(rng() % 40), rng));
  }
  for (int k = 0; k < 2000; ++k) index.add(random_hash(rng));
  ASSERT_EQ(index.size(), 4000u);
  int found = 0;
  for (int q = 0; q < 100; ++q) {
    const Pdq256 query =
        q % 2 ? random_hash(rng) : flip_bits(centres[q], static_cast<int>(rng() % 20), rng);
    for (int radius : {0, 5, 15, 16, 31, 32, 47, 63, 64, 100}) {
      const auto got = index.search(query, radius);
      EXPECT_EQ(got, index.scan(query, radius)) << "query " << q << " radius " << radius;
      if (radius == 31) found += static_cast<int>(got.size());
    }
  }
  EXPECT_GT(found, 100) << "the family queries find their relatives";
}

TEST(HashIndex, ExactCopiesAndEdges) {
  HashIndex index;
  std::mt19937_64 rng(1);
  const Pdq256 a = random_hash(rng);
  EXPECT_TRUE(index.search(a, 31).empty()) << "empty index";
  EXPECT_EQ(index.add(a), 0u);
  EXPECT_EQ(index.add(a), 1u);
  const auto m = index.search(a, 0);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].id, 0u);
  EXPECT_EQ(m[1].id, 1u);
  EXPECT_EQ(m[0].distance, 0);
  EXPECT_TRUE(index.search(a, -1).empty());
  Pdq256 far = a;
  for (auto& w : far.words) w = ~w;
  EXPECT_TRUE(index.search(far, 255).empty());
  EXPECT_EQ(index.search(far, 256).size(), 2u);
}

TEST(HashIndex, NearestIsTheScansFirstAtAnyDistance) {
  HashIndex index;
  std::mt19937_64 rng(3);
  EXPECT_FALSE(index.nearest(random_hash(rng)).has_value());
  for (int k = 0; k < 500; ++k) index.add(random_hash(rng));
  const Pdq256 twin = index.at(42);
  index.add(twin);  // the same hash again: the lower id wins
  for (int q = 0; q < 50; ++q) {
    const Pdq256 query = q == 0 ? twin : random_hash(rng);
    const auto all = index.scan(query, 256);
    const auto got = index.nearest(query);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, all.front()) << "query " << q;
  }
  EXPECT_EQ(index.nearest(twin)->id, 42u);
}
