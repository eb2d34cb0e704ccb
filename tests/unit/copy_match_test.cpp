// The copy matcher and the hashes it compares. Unit tests: the colour layout's text
// form, unhashable images, the normalisation (a frame or extra margin changes
// nothing), the colour gate, and find() against a brute-force filter. Then the
// copyright check's acceptance test on the Twemoji and Google emoji sets: 200
// registry images and five edited copies of each must match their original at
// least 95% of the time, and 2,000 images of other base emoji must match anything
// at most 1% of the time. The figures are printed and recorded as test properties.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "checks/copy_match.h"
#include "media/hash/image_hashes.h"
#include "media/hash/synthetic_hashes.h"
#include "media/png_io.h"

using namespace atelier;
using namespace atelier::checks;
using media::ColourLayout;
using media::Image;
using media::ImageHashes;

namespace fs = std::filesystem;

namespace {

Image rgb_image(int w, int h, std::vector<uint8_t> px) {
  Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  img.pixels = std::move(px);
  return img;
}

// A drawing on white: a dark ring, a red bar and a blue dot, `side` pixels square.
Image drawing(int side) {
  cv::Mat m(side, side, CV_8UC3, cv::Scalar(255, 255, 255));
  const double s = side / 64.0;
  cv::circle(m, cv::Point2d(30 * s, 30 * s), static_cast<int>(20 * s), cv::Scalar(40, 40, 60),
             static_cast<int>(std::max(1.0, 4 * s)), cv::LINE_AA);
  cv::rectangle(m, cv::Point2d(20 * s, 44 * s), cv::Point2d(54 * s, 52 * s),
                cv::Scalar(200, 30, 40), cv::FILLED, cv::LINE_AA);
  cv::circle(m, cv::Point2d(36 * s, 24 * s), static_cast<int>(6 * s), cv::Scalar(30, 80, 220),
             cv::FILLED, cv::LINE_AA);
  return rgb_image(side, side, std::vector<uint8_t>(m.data, m.data + m.total() * 3));
}

cv::Mat as_mat(const Image& img) {
  return cv::Mat(img.height, img.width, CV_8UC3, const_cast<uint8_t*>(img.pixels.data())).clone();
}

Image as_image(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  return rgb_image(c.cols, c.rows, std::vector<uint8_t>(c.data, c.data + c.total() * 3));
}

ImageHashes hashes(int quality, const media::Pdq256& pdq, const ColourLayout& colour = {}) {
  ImageHashes h;
  h.quality = quality;
  h.pdq = pdq;
  h.colour = colour;
  return h;
}

ColourLayout uniform_layout(float L, float a, float b) {
  ColourLayout c{};
  for (size_t i = 0; i < 16; ++i) {
    c[3 * i] = L;
    c[3 * i + 1] = a;
    c[3 * i + 2] = b;
  }
  return c;
}

}  // namespace

TEST(ImageHashes, ColourTextRoundTripsWithinItsPrecision) {
  ImageHashes h;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> L(0, 100), ab(-110, 110);
  for (size_t i = 0; i < 16; ++i) {
    h.colour[3 * i] = L(rng);
    h.colour[3 * i + 1] = ab(rng);
    h.colour[3 * i + 2] = ab(rng);
  }
  const std::string hex = h.colour_hex();
  ASSERT_EQ(hex.size(), 96u);
  const ColourLayout back = ImageHashes::colour_from_hex(hex);
  for (size_t i = 0; i < 16; ++i) {
    double d = 0;
    for (size_t c = 0; c < 3; ++c) d += std::pow(back[3 * i + c] - h.colour[3 * i + c], 2);
    EXPECT_LE(std::sqrt(d), 0.74) << "cell " << i;
  }
  ImageHashes again;
  again.colour = back;
  EXPECT_EQ(again.colour_hex(), hex) << "the text form is a fixed point";
  EXPECT_EQ(ImageHashes::colour_from_hex(std::string(96, 'F')),
            ImageHashes::colour_from_hex(std::string(96, 'f')));
  try {
    ImageHashes::colour_from_hex("abc");
    FAIL() << "a short text form was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("96 hexadecimal digits, got 3"), std::string::npos)
        << e.what();
  }
  try {
    ImageHashes::colour_from_hex(std::string(95, '0') + "x");
    FAIL() << "a non-hex digit was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("position 95"), std::string::npos) << e.what();
  }
}

TEST(ImageHashes, TinyAndFlatImagesAreUnhashable) {
  const auto one = media::hash_image(rgb_image(1, 1, {10, 20, 30}));
  EXPECT_EQ(one.quality, 0);
  EXPECT_FALSE(one.hashable());
  EXPECT_EQ(one.pdq, media::Pdq256{});
  const auto flat = media::hash_image(rgb_image(100, 80, std::vector<uint8_t>(100 * 80 * 3, 128)));
  EXPECT_EQ(flat.quality, 0);
  EXPECT_EQ(flat.pdq, media::Pdq256{});
  EXPECT_NEAR(flat.colour[0], 53.6, 0.5) << "the colour layout of the whole image is kept";
  Image clear;
  clear.width = clear.height = 32;
  clear.channels = 4;
  clear.pixels.assign(32 * 32 * 4, 0);  // fully transparent: white
  EXPECT_EQ(media::hash_image(clear).quality, 0);
  EXPECT_EQ(media::normalise_for_hashing(clear).width, 0);
  EXPECT_TRUE(media::hash_image(drawing(64)).hashable());

  Image bad = rgb_image(2, 2, std::vector<uint8_t>(8, 0));
  bad.channels = 2;
  EXPECT_THROW(media::hash_image(bad), std::invalid_argument);
  EXPECT_THROW(media::hash_image(rgb_image(0, 0, {})), std::invalid_argument);
  EXPECT_THROW(media::hash_image(rgb_image(4, 4, std::vector<uint8_t>(47, 0))),
               std::invalid_argument);
}

TEST(ImageHashes, FramesAndMarginsAreNormalisedAway) {
  const Image a = drawing(64);
  cv::Mat framed, padded, both;
  cv::copyMakeBorder(as_mat(a), framed, 3, 3, 3, 3, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  cv::copyMakeBorder(as_mat(a), padded, 20, 5, 9, 30, cv::BORDER_CONSTANT,
                     cv::Scalar(255, 255, 255));
  cv::copyMakeBorder(padded, both, 2, 2, 2, 2, cv::BORDER_CONSTANT, cv::Scalar(0, 160, 0));
  const Image canvas = media::normalise_for_hashing(a);
  ASSERT_EQ(canvas.width, media::kNormalisedSide);
  for (const cv::Mat& m : {framed, padded, both}) {
    EXPECT_EQ(media::normalise_for_hashing(as_image(m)).pixels, canvas.pixels);
    EXPECT_EQ(media::hash_image(as_image(m)).pdq, media::hash_image(a).pdq);
  }
  // A large image and its downscales land on nearly the same canvas.
  const Image big = drawing(512);
  for (int side : {256, 128, 64}) {
    cv::Mat small;
    cv::resize(as_mat(big), small, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    EXPECT_LE(media::hamming(media::hash_image(as_image(small)).pdq, media::hash_image(big).pdq),
              12)
        << side;
  }
}

TEST(CopyMatch, ColourGateAllowsBrightnessButNotAnotherColour) {
  const ColourLayout grey = uniform_layout(50, 10, -20);
  ColourLayout brighter = grey;
  for (size_t i = 0; i < 16; ++i)
    for (size_t c = 0; c < 3; ++c)
      brighter[3 * i + c] =
          static_cast<float>(c == 0 ? (50 + 16) * 1.12 - 16 : brighter[3 * i + c] * 1.12);
  EXPECT_LT(colour_gate_distance(brighter, grey), 1e-4) << "a gain of 1.12 is within 1.15";
  EXPECT_NEAR(colour_gate_distance(grey, grey), 0, 1e-9);
  ColourLayout shirt = grey;
  shirt[3 * 5 + 1] = 60;  // one cell turns red
  EXPECT_GT(colour_gate_distance(shirt, grey), 40) << "the largest cell counts, not the mean";
}

TEST(CopyMatch, FindsWithinTheGatesInOrder) {
  std::mt19937_64 rng(11);
  const media::Pdq256 q = media::random_hash(rng);
  auto at = [&](int bits) {  // exactly `bits` away from q
    media::Pdq256 h = q;
    for (int k = 0; k < bits; ++k)
      h.words[static_cast<size_t>(k * 7 % 256 / 64)] ^= uint64_t{1} << (k * 7 % 64);
    return h;
  };
  const ColourLayout base = uniform_layout(60, 0, 0), off3 = uniform_layout(60, 3, 0),
                     off25 = uniform_layout(60, 25, 0), off10 = uniform_layout(60, 10, 0);
  std::vector<HashedWork> works = {
      {7, hashes(100, at(5), off3)},    // d 5, colour 3
      {3, hashes(100, at(5), base)},    // d 5, colour 0: before 7
      {9, hashes(100, at(5), base)},    // ties with 3: by id
      {4, hashes(100, at(2), off25)},   // colour over 20
      {5, hashes(100, at(41), base)},   // outside the radius
      {6, hashes(100, at(36), off10)},  // 36 + 10 over 45
      {8, hashes(100, at(40), base)},   // on the radius, colour 0
      {2, hashes(10, at(0), base)},     // unhashable: never matched
  };
  const CopyMatcher m(works);
  EXPECT_EQ(m.indexed(), 7u);
  EXPECT_EQ(m.unindexed(), std::vector<int64_t>{2});
  const auto got = m.find(hashes(100, q, base));
  std::vector<int64_t> ids;
  for (const auto& c : got) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 9, 7, 8}));
  EXPECT_EQ(got[2].pdq_distance, 5);
  EXPECT_NEAR(got[2].colour_distance, 3, 0.1);

  try {
    (void)m.find(hashes(49, q, base));
    FAIL() << "an unhashable query was answered";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unhashable"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CopyMatcher({}, MatchPolicy{.pdq_radius = 64}), std::invalid_argument);
  EXPECT_THROW(CopyMatcher({}, MatchPolicy{.pdq_radius = -1}), std::invalid_argument);
  EXPECT_THROW(CopyMatcher({}, MatchPolicy{.max_colour_distance = -1}), std::invalid_argument);
  EXPECT_TRUE(CopyMatcher({}).find(hashes(100, q)).empty());
}

TEST(CopyMatch, AgreesWithABruteForceFilter) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-4, 4);
  std::vector<HashedWork> works;
  std::vector<media::Pdq256> centres;
  for (int f = 0; f < 50; ++f) {
    centres.push_back(media::random_hash(rng));
    for (int k = 0; k < 20; ++k) {
      ColourLayout c = uniform_layout(50, 0, 0);
      for (auto& v : c) v += u(rng) * static_cast<float>(k % 6);
      works.push_back(
          {static_cast<int64_t>(works.size()) * 3 % 1000,
           hashes(60 + k, media::flip_bits(centres.back(), static_cast<int>(rng() % 60), rng), c)});
    }
  }
  const MatchPolicy policy;
  const CopyMatcher m(works, policy);
  for (int t = 0; t < 40; ++t) {
    const ImageHashes q =
        hashes(100, media::flip_bits(centres[static_cast<size_t>(t)], t % 25, rng),
               uniform_layout(50, 1, 0));
    std::vector<CopyMatch> want;
    for (const auto& w : works) {
      const int d = media::hamming(q.pdq, w.hashes.pdq);
      const double c = colour_gate_distance(q.colour, w.hashes.colour);
      if (w.hashes.hashable() && d <= policy.pdq_radius && c <= policy.max_colour_distance &&
          d + policy.colour_weight * c <= policy.max_combined)
        want.push_back({w.id, d, c});
    }
    std::sort(want.begin(), want.end(), [](const CopyMatch& a, const CopyMatch& b) {
      return std::tie(a.pdq_distance, a.colour_distance, a.id) <
             std::tie(b.pdq_distance, b.colour_distance, b.id);
    });
    EXPECT_EQ(m.find(q), want) << "query " << t;
  }
}

// ---- The acceptance test on the emoji sets -------------------------------------

namespace {

fs::path datasets_dir() {
  if (const char* d = std::getenv("ATELIER_DATASETS"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "atelier" / "datasets";
}

struct Emoji {
  std::string unified, category;
  fs::path image;
};

// Base emoji (skin-tone variants are not base emoji, and "Component" holds the bare
// skin-tone swatches and hair parts) that have a 64x64 image in `style`, sorted by
// code points.
std::vector<Emoji> base_emoji(const std::string& style) {
  const fs::path pkg = datasets_dir() / ("emoji-datasource-" + style + "-16.0.0");
  const fs::path json = pkg / "emoji.json";
  std::ifstream in(json);
  if (!in)
    throw std::runtime_error(json.string() +
                             ": not found; run scripts/fetch_datasets.sh (CI fetches the emoji "
                             "datasets before the tests) or set ATELIER_DATASETS");
  nlohmann::json all;
  try {
    all = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error(json.string() + ": " + e.what());
  }
  std::vector<Emoji> out;
  for (const auto& e : all) {
    if (!e.value("has_img_" + style, false) || e.value("category", "") == "Component") continue;
    out.push_back({e.at("unified").get<std::string>(), e.value("category", ""),
                   pkg / "img" / style / "64" / e.at("image").get<std::string>()});
  }
  std::sort(out.begin(), out.end(),
            [](const Emoji& a, const Emoji& b) { return a.unified < b.unified; });
  return out;
}

// What a re-posted copy starts from: the RGBA image composited over white (rounded as
// hash_image rounds), as 8-bit RGB.
cv::Mat composited(const fs::path& file) {
  const Image img = media::read_png(file, 4);
  cv::Mat rgb(img.height, img.width, CV_8UC3);
  for (size_t i = 0; i < static_cast<size_t>(img.width) * img.height; ++i) {
    const uint8_t* p = img.pixels.data() + 4 * i;
    for (size_t c = 0; c < 3; ++c)
      rgb.data[3 * i + c] = static_cast<uint8_t>((p[c] * p[3] + 255 * (255 - p[3]) + 127) / 255);
  }
  return rgb;
}

std::string pixel_key(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows) + ":" +
         std::string(reinterpret_cast<const char*>(m.data), m.total() * 3);
}

// The margin that takes 5% of the area off, the same on each side: 1 px of 64.
int area_crop_margin(int side) {
  return static_cast<int>(std::lround(side * (1 - std::sqrt(0.95)) / 2));
}

cv::Mat crop(const cv::Mat& m, int margin) {
  return m(cv::Rect(margin, margin, m.cols - 2 * margin, m.rows - 2 * margin)).clone();
}

struct Edit {
  const char* name;
  const char* key;  // for RecordProperty
  cv::Mat (*apply)(const cv::Mat&);
};

const Edit kEdits[] = {
    {"half size (INTER_AREA)", "matched_half_size",
     [](const cv::Mat& m) {
       cv::Mat out;
       cv::resize(m, out, cv::Size(m.cols / 2, m.rows / 2), 0, 0, cv::INTER_AREA);
       return out;
     }},
    {"JPEG quality 50", "matched_jpeg_50",
     [](const cv::Mat& m) {
       cv::Mat bgr, out;
       cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
       std::vector<uchar> jpeg;
       cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 50});
       cv::cvtColor(cv::imdecode(jpeg, cv::IMREAD_COLOR), out, cv::COLOR_BGR2RGB);
       return out;
     }},
    {"5% crop (of the area)", "matched_crop_5pc_area",
     [](const cv::Mat& m) { return crop(m, area_crop_margin(m.cols)); }},
    {"brightness +20%", "matched_brightness_120pc",
     [](const cv::Mat& m) {
       cv::Mat out;
       m.convertTo(out, -1, 1.2, 0);  // saturating
       return out;
     }},
    {"2 px black border", "matched_border_2px",
     [](const cv::Mat& m) {
       cv::Mat out;
       cv::copyMakeBorder(m, out, 2, 2, 2, 2, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
       return out;
     }},
};

}  // namespace

TEST(CopyMatchAcceptance, EmojiCopiesMatchAndOtherEmojiDoNot) {
  std::vector<Emoji> twitter, google;
  try {
    twitter = base_emoji("twitter");
    google = base_emoji("google");
  } catch (const std::exception& e) {
    FAIL() << "the emoji datasets are missing: " << e.what();
  }
  ASSERT_GE(twitter.size(), 1000u);

  // The registry: every (n/200)-th Twemoji base emoji in code point order, skipping
  // to the next one where the image is pixel for pixel one already taken (Twemoji
  // draws all families, and some flags, alike; a copy of one could not tell which).
  std::vector<Emoji> registry;
  std::vector<cv::Mat> originals;
  std::unordered_map<std::string, size_t> registry_pixels;
  std::set<std::string> registry_codes;
  for (size_t i = 0, next = 0; i < 200; ++i) {
    size_t k = std::max(next, i * twitter.size() / 200);
    for (;; ++k) {
      ASSERT_LT(k, twitter.size());
      cv::Mat m = composited(twitter[k].image);
      if (registry_pixels.emplace(pixel_key(m), registry.size()).second) {
        originals.push_back(m);
        break;
      }
    }
    registry.push_back(twitter[k]);
    registry_codes.insert(twitter[k].unified);
    next = k + 1;
  }
  std::vector<HashedWork> works;
  std::map<std::string, int> categories;
  for (size_t i = 0; i < registry.size(); ++i) {
    works.push_back({static_cast<int64_t>(i), media::hash_image(as_image(originals[i]))});
    ++categories[registry[i].category];
  }
  const CopyMatcher matcher(works);
  EXPECT_TRUE(matcher.unindexed().empty()) << "registry images that are unhashable";

  auto best_is = [&](const ImageHashes& h, int64_t id) {
    if (!h.hashable()) return false;
    const auto m = matcher.find(h);
    return !m.empty() && m.front().id == id;
  };

  std::ostringstream report;
  report << "registry: 200 Twemoji base emoji (";
  for (auto it = categories.begin(); it != categories.end(); ++it)
    report << (it == categories.begin() ? "" : ", ") << it->first << " " << it->second;
  report << ")\n";
  int matched_total = 0;
  for (const Edit& edit : kEdits) {
    int matched = 0;
    for (size_t i = 0; i < originals.size(); ++i)
      matched +=
          best_is(media::hash_image(as_image(edit.apply(originals[i]))), static_cast<int64_t>(i));
    matched_total += matched;
    report << "  " << edit.name << ": " << matched << "/200 matched (" << matched / 2.0 << "%)\n";
    RecordProperty(edit.key, matched);
  }
  {
    // Not part of the bar: a 5% crop off each side (3 px of 64) cuts into most Twemoji.
    int matched = 0;
    for (size_t i = 0; i < originals.size(); ++i)
      matched +=
          best_is(media::hash_image(as_image(crop(originals[i], 3))), static_cast<int64_t>(i));
    report << "  (not in the bar) 5% crop off each side: " << matched << "/200 (" << matched / 2.0
           << "%)\n";
  }
  report << "copies matched to their original: " << matched_total << "/1000 ("
         << matched_total / 10.0 << "%)\n";

  // Other base emoji: every Twemoji base emoji not in the registry whose pixels
  // differ from every registry image, then Google's images of base emoji not in the
  // registry, evenly spaced, up to 2,000.
  std::vector<fs::path> others;
  int identical = 0;
  for (const Emoji& e : twitter) {
    if (registry_codes.count(e.unified)) continue;
    if (registry_pixels.count(pixel_key(composited(e.image)))) {
      ++identical;
      continue;
    }
    others.push_back(e.image);
  }
  const size_t from_twitter = others.size();
  std::vector<const Emoji*> google_others;
  for (const Emoji& e : google)
    if (!registry_codes.count(e.unified)) google_others.push_back(&e);
  const size_t need = 2000 - others.size();
  ASSERT_GE(google_others.size(), need);
  for (size_t i = 0; i < need; ++i)
    others.push_back(google_others[i * google_others.size() / need]->image);
  int false_matches = 0, unhashable = 0;
  std::ostringstream which;
  for (const fs::path& p : others) {
    const ImageHashes h = media::hash_image(media::read_png(p, 4));
    if (!h.hashable()) {
      ++unhashable;
      continue;
    }
    if (const auto m = matcher.find(h); !m.empty()) {
      ++false_matches;
      which << " " << p.stem().string() << "->"
            << registry[static_cast<size_t>(m.front().id)].unified << " (" << m.front().pdq_distance
            << ", " << std::round(m.front().colour_distance * 10) / 10 << ")";
    }
  }
  report << "other base emoji: " << others.size() << " (" << from_twitter << " Twemoji, "
         << others.size() - from_twitter << " Google; " << identical
         << " Twemoji images identical to a registry image left out), " << unhashable
         << " unhashable\n";
  report << "false matches: " << false_matches << "/2000 (" << false_matches / 20.0
         << "%):" << which.str() << "\n";
  std::cout << report.str();
  RecordProperty("copies_matched", matched_total);
  RecordProperty("false_matches", false_matches);

  EXPECT_GE(matched_total, 950) << "at least 95% of copies matched to the right registry entry";
  EXPECT_LE(false_matches, 20) << "at most 1% false matches among 2,000 other base emoji";
}
