// PDQ: the 256-bit perceptual hash Meta publishes with ThreatExchange, computed as
// its reference does: luma (0.299 R + 0.587 G + 0.114 B; alpha composited over
// white first), two passes of a Jarosz tent filter (box filters along rows and
// columns, window ceil(dim / 128)), decimation to 64x64, the 16x16 low-frequency
// block of a DCT (skipping the DC row and column), and one bit per coefficient above
// the median. Quality (0-100) is the image-domain gradient sum of the 64x64 buffer
// scaled as the reference scales it; hashes of quality below kPdqMinQuality say
// little (flat or tiny images) and are not used for matching.
//
// Invariants: bit k (0..255) is coefficient (k / 16, k % 16), stored in
// words[k / 64] at bit k % 64; hex() prints the reference's 64-character form
// (sixteen 16-bit words, the highest first) and from_hex reads it back exactly.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atelier::media {

inline constexpr int kPdqMinQuality = 50;
inline constexpr int kPdqMinSide = 5;  // smaller images get quality 0 and an all-zero hash

struct Pdq256 {
  std::array<uint64_t, 4> words{};
  bool bit(int k) const { return (words[k / 64] >> (k % 64)) & 1u; }
  void set(int k) { words[k / 64] |= uint64_t{1} << (k % 64); }
  std::string hex() const;
  // Throws std::invalid_argument unless `hex` is 64 hexadecimal digits.
  static Pdq256 from_hex(const std::string& hex);
  bool operator==(const Pdq256&) const = default;
};

int hamming(const Pdq256& a, const Pdq256& b);

struct PdqResult {
  Pdq256 hash;
  int quality = 0;  // 0..100
};

// `luma`: rows x cols values in 0..255, row-major.
PdqResult pdq_from_luma(std::vector<float> luma, int rows, int cols);

// 8-bit pixels with 1 (gray), 3 (RGB) or 4 (RGBA) channels, row-major.
PdqResult pdq_hash(const uint8_t* pixels, int width, int height, int channels);

}  // namespace atelier::media
