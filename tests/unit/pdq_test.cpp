// Perceptual hashes. PDQ: the hex form and bit layout, quality on flat and tiny
// images, and the property matching relies on: edited copies of an image (half
// size, brighter, cropped 5%, a border) stay near while other images do not. Colour
// layout: it tells apart what PDQ cannot, the same picture in other colours.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "media/hash/colour_layout.h"
#include "media/hash/pdq.h"

using namespace atelier::media;

namespace {

struct Rgb {
  int w = 0, h = 0;
  std::vector<uint8_t> px;
  uint8_t* at(int x, int y) { return px.data() + (static_cast<size_t>(y) * w + x) * 3; }
};

// A smooth random scene: coloured discs and bars on a gradient, from `seed`.
Rgb scene(uint32_t seed, int w = 256, int h = 256) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Rgb img{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  const double gx = u(rng), gy = u(rng);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const auto v = static_cast<uint8_t>(60 + 120 * (gx * x / w + gy * y / h) / 2);
      auto* p = img.at(x, y);
      p[0] = p[1] = p[2] = v;
    }
  for (int k = 0; k < 12; ++k) {
    const double cx = u(rng) * w, cy = u(rng) * h, r = (0.05 + 0.2 * u(rng)) * w;
    const uint8_t c[3] = {static_cast<uint8_t>(255 * u(rng)), static_cast<uint8_t>(255 * u(rng)),
                          static_cast<uint8_t>(255 * u(rng))};
    const bool bar = k % 3 == 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const bool in =
            bar ? std::abs(x - cx) < r / 3 && std::abs(y - cy) < r : std::hypot(x - cx, y - cy) < r;
        if (in) std::copy(c, c + 3, img.at(x, y));
      }
  }
  return img;
}

PdqResult hash(Rgb& img) {
  return pdq_hash(img.px.data(), img.w, img.h, 3);
}

Rgb half(Rgb& a) {
  Rgb b{a.w / 2, a.h / 2, std::vector<uint8_t>(static_cast<size_t>(a.w / 2) * (a.h / 2) * 3)};
  for (int y = 0; y < b.h; ++y)
    for (int x = 0; x < b.w; ++x)
      for (int c = 0; c < 3; ++c)
        b.at(x, y)[c] =
            static_cast<uint8_t>((a.at(2 * x, 2 * y)[c] + a.at(2 * x + 1, 2 * y)[c] +
                                  a.at(2 * x, 2 * y + 1)[c] + a.at(2 * x + 1, 2 * y + 1)[c] + 2) /
                                 4);
  return b;
}

Rgb crop(Rgb& a, int m) {
  Rgb b{a.w - 2 * m, a.h - 2 * m, {}};
  for (int y = m; y < a.h - m; ++y)
    for (int x = m; x < a.w - m; ++x) b.px.insert(b.px.end(), a.at(x, y), a.at(x, y) + 3);
  return b;
}

Rgb border(Rgb& a, int m) {
  Rgb b{a.w + 2 * m, a.h + 2 * m,
        std::vector<uint8_t>(static_cast<size_t>(a.w + 2 * m) * (a.h + 2 * m) * 3)};
  for (int y = 0; y < a.h; ++y)
    for (int x = 0; x < a.w; ++x) std::copy(a.at(x, y), a.at(x, y) + 3, b.at(x + m, y + m));
  return b;
}

}  // namespace

TEST(Pdq, HexIsTheReferenceLayoutAndRoundTrips) {
  Pdq256 h;
  h.set(0);
  EXPECT_EQ(h.hex(), std::string(60, '0') + "0001");
  h.set(255);
  EXPECT_EQ(h.hex(), "8000" + std::string(56, '0') + "0001");
  h.set(17);  // word 1, bit 1
  EXPECT_EQ(h.hex().substr(56), "00020001");
  EXPECT_EQ(Pdq256::from_hex(h.hex()), h);
  const std::string s = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
  EXPECT_EQ(Pdq256::from_hex(s).hex(), s);
  EXPECT_EQ(hamming(Pdq256::from_hex(s), Pdq256::from_hex(s)), 0);
  EXPECT_EQ(hamming(Pdq256{}, Pdq256::from_hex(std::string(64, 'f'))), 256);
  EXPECT_THROW(Pdq256::from_hex("abc"), std::invalid_argument);
  EXPECT_THROW(Pdq256::from_hex(std::string(63, '0') + "g"), std::invalid_argument);
}

TEST(Pdq, FlatAndTinyImagesHaveNoQuality) {
  std::vector<uint8_t> flat(100 * 80 * 3, 128);
  const auto f = pdq_hash(flat.data(), 100, 80, 3);
  EXPECT_EQ(f.quality, 0);
  std::vector<uint8_t> tiny(4 * 4, 200);
  const auto t = pdq_hash(tiny.data(), 4, 4, 1);
  EXPECT_EQ(t.quality, 0);
  EXPECT_EQ(t.hash, Pdq256{});
  std::vector<uint8_t> one(4, 255);
  EXPECT_EQ(pdq_hash(one.data(), 1, 1, 4).quality, 0);
  EXPECT_THROW(pdq_hash(one.data(), 1, 1, 2), std::invalid_argument);
  auto s = scene(1);
  EXPECT_GE(hash(s).quality, kPdqMinQuality) << "a scene with edges is hashable";
}

TEST(Pdq, EditedCopiesStayCloseAndOtherImagesDoNot) {
  // The worst distance per edit over eight scenes, and the closest unrelated pair.
  int half_d = 0, bright_d = 0, border_d = 0, crop_d = 0, other_d = 256;
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    auto a = scene(seed);
    const auto ha = hash(a);
    auto d = [&](Rgb img) { return hamming(ha.hash, hash(img).hash); };
    half_d = std::max(half_d, d(half(a)));
    Rgb bright = a;
    for (auto& v : bright.px) v = static_cast<uint8_t>(std::min(255, v * 6 / 5));
    bright_d = std::max(bright_d, d(bright));
    border_d = std::max(border_d, d(border(a, 2)));
    crop_d = std::max(crop_d, d(crop(a, a.w / 40)));  // 5% of each dimension
    other_d = std::min(other_d, d(scene(seed + 100)));
  }
  std::printf(
      "worst distance: half size %d, brightness +20%% %d, 2px border %d, 5%% crop %d; "
      "closest unrelated %d\n",
      half_d, bright_d, border_d, crop_d, other_d);
  EXPECT_LE(half_d, 31);
  EXPECT_LE(bright_d, 31);
  // Borders and crops move the 64x64 grid against the picture; PDQ is known to
  // move most under them (a second signal helps there), but they stay far nearer
  // than an unrelated image.
  EXPECT_LT(std::max(border_d, crop_d), other_d / 2);
  EXPECT_GT(other_d, 90) << "unrelated scenes are about 128 apart";
}

TEST(Pdq, AlphaIsCompositedOverWhite) {
  auto a = scene(3, 64, 64);
  std::vector<uint8_t> rgba;
  for (size_t i = 0; i < a.px.size(); i += 3)
    rgba.insert(rgba.end(), {a.px[i], a.px[i + 1], a.px[i + 2], 255});
  EXPECT_EQ(pdq_hash(rgba.data(), 64, 64, 4).hash, hash(a).hash);
  for (size_t i = 3; i < rgba.size(); i += 4) rgba[i] = 0;  // fully transparent: white
  EXPECT_EQ(pdq_hash(rgba.data(), 64, 64, 4).quality, 0);
}

TEST(ColourLayout, SeesColourWherePdqSeesOnlyLuma) {
  auto a = scene(5);
  // The same picture with red and blue swapped: the same shapes, other colours.
  Rgb swapped = a;
  for (size_t i = 0; i < swapped.px.size(); i += 3) std::swap(swapped.px[i], swapped.px[i + 2]);
  auto small = half(a);
  const auto ma = colour_layout(a.px.data(), a.w, a.h, 3);
  const double to_copy = colour_distance(ma, colour_layout(small.px.data(), small.w, small.h, 3));
  Rgb bright = a;
  for (auto& v : bright.px) v = static_cast<uint8_t>(std::min(255, v * 6 / 5));
  const double to_bright =
      colour_distance(ma, colour_layout(bright.px.data(), bright.w, bright.h, 3));
  const double to_swapped =
      colour_distance(ma, colour_layout(swapped.px.data(), swapped.w, swapped.h, 3));
  std::printf(
      "colour distance (delta E): half-size copy %.2f, brightness +20%% %.2f, colours "
      "swapped %.2f\n",
      to_copy, to_bright, to_swapped);
  EXPECT_LT(to_copy, 1.0);
  EXPECT_LT(to_bright, to_swapped / 2) << "brightness moves L only";
  EXPECT_GT(to_swapped, 20.0);
  EXPECT_LE(hamming(hash(a).hash, hash(swapped).hash), 64)
      << "PDQ alone sees mostly the same picture";
  EXPECT_EQ(colour_distance(ma, ma), 0);
  EXPECT_THROW(colour_layout(a.px.data(), 0, 0, 3), std::invalid_argument);
  EXPECT_THROW(colour_layout(a.px.data(), a.w, a.h, 2), std::invalid_argument);
}
