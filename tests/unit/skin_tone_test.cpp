// Skin tone measures: CIELAB against published values, ITA on dithered 8-bit
// patches of known Lab colour within 1 degree, the ITA classes and Monk tones at their
// boundaries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "checks/skin_tone.h"

using namespace atelier::checks;

namespace {
// A 16x16 8-bit patch of the colour, dithered as real images are (each pixel's
// rounding offset spread evenly over one step, in a different order per channel),
// measured as the bias audit measures skin: the mean Lab of its pixels.
Lab patch_lab(const Lab& colour) {
  const auto rgb = lab_to_srgb(colour);
  Lab sum;
  for (int k = 0; k < 256; ++k) {
    double px[3];
    for (int c = 0; c < 3; ++c) {
      const double offset = (((k * (37 + 28 * c) + 11 * c) % 256) + 0.5) / 256 - 0.5;
      px[c] = std::clamp(std::round(rgb[static_cast<size_t>(c)] * 255 + offset), 0.0, 255.0) / 255;
    }
    const Lab l = srgb_to_lab(px[0], px[1], px[2]);
    sum.L += l.L / 256;
    sum.a += l.a / 256;
    sum.b += l.b / 256;
  }
  return sum;
}
}  // namespace

TEST(SkinTone, LabMatchesPublishedValuesAndRoundTrips) {
  const Lab white = srgb_to_lab(1, 1, 1), black = srgb_to_lab(0, 0, 0), red = srgb_to_lab(1, 0, 0);
  EXPECT_NEAR(white.L, 100, 0.01);
  EXPECT_NEAR(white.a, 0, 0.01);
  EXPECT_NEAR(white.b, 0, 0.01);
  EXPECT_NEAR(black.L, 0, 1e-9);
  EXPECT_NEAR(red.L, 53.24, 0.05);
  EXPECT_NEAR(red.a, 80.09, 0.05);
  EXPECT_NEAR(red.b, 67.20, 0.05);
  for (const Lab in : {Lab{65, 12, 20}, Lab{40, 15, 25}, Lab{80, 5, 15}, Lab{25, 8, 10}}) {
    const auto rgb = lab_to_srgb(in);
    const Lab back = srgb_to_lab(rgb[0], rgb[1], rgb[2]);
    EXPECT_NEAR(back.L, in.L, 0.01);
    EXPECT_NEAR(back.a, in.a, 0.01);
    EXPECT_NEAR(back.b, in.b, 0.01);
  }
}

TEST(SkinTone, ItaOfEightBitPatchesIsWithinOneDegree) {
  int patches = 0;
  for (double L = 25; L <= 85; L += 5)
    for (double a = 5; a <= 20; a += 5)
      for (double b = 10; b <= 35; b += 5) {
        const Lab known{L, a, b};
        const Lab measured = patch_lab(known);
        EXPECT_NEAR(ita_degrees(measured), ita_degrees(known), 1.0)
            << "L " << L << " a " << a << " b " << b;
        ++patches;
      }
  EXPECT_GT(patches, 300);
  EXPECT_NEAR(ita_degrees({50, 10, 20}), 0, 1e-12);
  EXPECT_NEAR(ita_degrees({70, 10, 20}), 45, 1e-9);
  EXPECT_NEAR(ita_degrees({60, 0, 0}), 90, 1e-9) << "b = 0: no division by zero";
}

TEST(SkinTone, ItaClassBoundariesGoToTheDarkerClass) {
  EXPECT_EQ(ita_class(55.001), ItaClass::very_light);
  EXPECT_EQ(ita_class(55), ItaClass::light);
  EXPECT_EQ(ita_class(41.001), ItaClass::light);
  EXPECT_EQ(ita_class(41), ItaClass::intermediate);
  EXPECT_EQ(ita_class(28.001), ItaClass::intermediate);
  EXPECT_EQ(ita_class(28), ItaClass::tan);
  EXPECT_EQ(ita_class(10.001), ItaClass::tan);
  EXPECT_EQ(ita_class(10), ItaClass::brown);
  EXPECT_EQ(ita_class(-29.999), ItaClass::brown);
  EXPECT_EQ(ita_class(-30), ItaClass::dark);
  EXPECT_EQ(to_string(ItaClass::intermediate), "intermediate");
}

TEST(SkinTone, MonkTonesAreNearestReferenceColours) {
  auto lab_of_hex = [](const char* hex) {
    const long v = std::strtol(hex + 1, nullptr, 16);
    return srgb_to_lab(((v >> 16) & 0xFF) / 255.0, ((v >> 8) & 0xFF) / 255.0, (v & 0xFF) / 255.0);
  };
  for (int t = 1; t <= 10; ++t)
    EXPECT_EQ(nearest_monk_tone(lab_of_hex(monk_colours()[static_cast<size_t>(t - 1)])), t);
  // Between two neighbours, the nearer one wins: 45% and 55% of the way from 5 to 6.
  const Lab five = lab_of_hex(monk_colours()[4]), six = lab_of_hex(monk_colours()[5]);
  auto mix = [&](double w) {
    return Lab{five.L + w * (six.L - five.L), five.a + w * (six.a - five.a),
               five.b + w * (six.b - five.b)};
  };
  EXPECT_EQ(nearest_monk_tone(mix(0.45)), 5);
  EXPECT_EQ(nearest_monk_tone(mix(0.55)), 6);
  EXPECT_EQ(nearest_monk_tone({100, 0, 0}), 1) << "white is nearest the lightest tone";
  EXPECT_EQ(nearest_monk_tone({0, 0, 0}), 10);
}
