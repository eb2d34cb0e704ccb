// Radius search over many PDQ-sized hashes: multi-index hashing (HashIndex::search)
// against a linear scan of the same hashes, same queries, same run.
//
//   atelier_hash_index_bench [--hashes 1000000] [--queries 2000] [--radius 31] [--seed 1]
//
// The hashes are clustered the way image hashes are, not uniform: 1,000 themes
// (picture types), family centres 40 random bits away from a theme, and families of
// 10 near-duplicates up to 24 bits from their centre. Half the queries are new
// near-duplicates of a stored family (up to 16 bits away), half come from the themes
// with no stored relative. Prints p50 and p99 per query for both, the speed-up, and
// checks that both return the same matches.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "media/hash/hash_index.h"
#include "media/hash/synthetic_hashes.h"

using atelier::media::flip_bits;
using atelier::media::HashIndex;
using atelier::media::Pdq256;
using atelier::media::random_hash;

namespace {

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  long hashes = 1000000, queries = 2000, radius = 31, seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long v = std::atol(argv[i + 1]);
    if (a == "--hashes")
      hashes = v;
    else if (a == "--queries")
      queries = v;
    else if (a == "--radius")
      radius = v;
    else if (a == "--seed")
      seed = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  std::vector<Pdq256> themes;
  for (int t = 0; t < 1000; ++t) themes.push_back(random_hash(rng));
  HashIndex index;
  std::vector<Pdq256> centres;
  const auto b0 = std::chrono::steady_clock::now();
  while (static_cast<long>(index.size()) < hashes) {
    centres.push_back(flip_bits(themes[rng() % themes.size()], 40, rng));
    for (int k = 0; k < 10 && static_cast<long>(index.size()) < hashes; ++k)
      index.add(flip_bits(centres.back(), static_cast<int>(rng() % 25), rng));
  }
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count();
  std::vector<Pdq256> qs;
  for (long q = 0; q < queries; ++q)
    qs.push_back(
        q % 2 ? flip_bits(themes[rng() % themes.size()], 40, rng)
              : flip_bits(centres[rng() % centres.size()], static_cast<int>(rng() % 17), rng));

  auto timed = [&](bool mih, std::vector<double>& ms, long& found) {
    found = 0;
    for (const auto& q : qs) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto m =
          mih ? index.search(q, static_cast<int>(radius)) : index.scan(q, static_cast<int>(radius));
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      found += static_cast<long>(m.size());
    }
  };
  std::vector<double> mih_ms, scan_ms;
  long mih_found = 0, scan_found = 0;
  timed(true, mih_ms, mih_found);
  timed(false, scan_ms, scan_found);
  long mismatches = 0;
  for (size_t i = 0; i < qs.size(); i += 97)
    mismatches += index.search(qs[i], static_cast<int>(radius)) !=
                  index.scan(qs[i], static_cast<int>(radius));

  std::printf("%ld hashes (%zu families, index built in %.1f s), %ld queries at radius %ld\n\n",
              hashes, centres.size(), build_s, queries, radius);
  std::printf("| search | p50 (ms) | p99 (ms) | matches found |\n|---|---:|---:|---:|\n");
  std::printf("| multi-index hashing | %.3f | %.3f | %ld |\n", percentile(mih_ms, 0.5),
              percentile(mih_ms, 0.99), mih_found);
  std::printf("| linear scan | %.3f | %.3f | %ld |\n", percentile(scan_ms, 0.5),
              percentile(scan_ms, 0.99), scan_found);
  std::printf("\nspeed-up at p50: %.0fx; target p50 under 1 ms: %s; results %s\n",
              percentile(scan_ms, 0.5) / percentile(mih_ms, 0.5),
              percentile(mih_ms, 0.5) < 1.0 ? "met" : "not met",
              mismatches == 0 && mih_found == scan_found ? "identical" : "DIFFER");
  return mismatches == 0 && mih_found == scan_found ? 0 : 1;
}
