// The bias audit on real Twemoji people images whose skin tone modifier is known: an even
// batch passes, a single-tone batch fails, the report's tone counts match the modifiers;
// the detection rate and group accuracy over every five-tone people emoji; non-people
// and empty batches; gender words; the distribution maths on hand-computed examples;
// config errors; the chart. The emoji package must be unpacked (scripts/fetch_datasets.sh):
// without it these tests fail, they do not skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "checks/bias.h"
#include "checks/bias_chart.h"
#include "media/png_io.h"

using namespace atelier::checks;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kModifiers[5] = {"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"};

// As ml/emoji_dataset.h finds it, without linking the torch side.
fs::path twemoji_dir() {
  fs::path root;
  if (const char* d = std::getenv("ATELIER_DATASETS"); d && *d)
    root = d;
  else
    root = fs::path(std::getenv("HOME") ? std::getenv("HOME") : "/tmp") / ".cache/atelier/datasets";
  return root / "emoji-datasource-twitter-16.0.0";
}

struct Emoji {
  std::string name, short_name, category, subcategory;
  fs::path image;               // the default (yellow) image
  std::vector<fs::path> toned;  // by modifier, when it has exactly the five
};

// emoji.json, sorted by its sort order; empty when the package is missing.
const std::vector<Emoji>& all_emoji() {
  static const std::vector<Emoji> list = [] {
    std::vector<std::pair<int, Emoji>> v;
    const fs::path dir = twemoji_dir();
    std::ifstream in(dir / "emoji.json");
    if (!in) return std::vector<Emoji>{};
    const json j = json::parse(in);
    for (const auto& e : j) {
      if (!e.value("has_img_twitter", false)) continue;
      Emoji m;
      m.name = e["name"].is_string() ? e["name"].get<std::string>() : "";
      for (char& c : m.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      m.short_name = e["short_name"].get<std::string>();
      m.category = e["category"].get<std::string>();
      m.subcategory = e["subcategory"].get<std::string>();
      m.image = dir / "img/twitter/64" / e["image"].get<std::string>();
      if (e.contains("skin_variations") && e["skin_variations"].size() == 5) {
        for (const char* t : kModifiers) {
          const auto& s = e["skin_variations"][t];
          if (s.value("has_img_twitter", false))
            m.toned.push_back(dir / "img/twitter/64" / s["image"].get<std::string>());
        }
        if (m.toned.size() != 5) m.toned.clear();
      }
      v.emplace_back(e["sort_order"].get<int>(), std::move(m));
    }
    std::stable_sort(v.begin(), v.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Emoji> out;
    for (auto& [order, m] : v) out.push_back(std::move(m));
    return out;
  }();
  return list;
}

// Each image is read once for the whole suite.
const SkinReading& reading(const fs::path& p) {
  static std::map<fs::path, SkinReading> cache;
  auto it = cache.find(p);
  if (it == cache.end()) it = cache.emplace(p, read_skin(atelier::media::read_png(p, 4))).first;
  return it->second;
}

BiasItem item(const Emoji& e, int tone) {
  const fs::path& p = tone < 0 ? e.image : e.toned[static_cast<size_t>(tone)];
  return {p.filename().string(), reading(p), "a photo of a " + e.name, {e.short_name}};
}

class Bias : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(twemoji_dir() / "emoji.json"))
        << "The Twemoji package is missing at " << twemoji_dir()
        << "; run scripts/fetch_datasets.sh (or set ATELIER_DATASETS).";
    ASSERT_GT(all_emoji().size(), 1000u);
  }
  // The first 40 five-tone emoji of the "person-role" subcategory (health worker,
  // student, teacher...): 14 neutral, 13 man, 13 woman.
  static std::vector<const Emoji*> roles() {
    std::vector<const Emoji*> r;
    for (const auto& e : all_emoji())
      if (e.subcategory == "person-role" && !e.toned.empty() && r.size() < 40) r.push_back(&e);
    return r;
  }
  static std::vector<const Emoji*> in_category(const std::string& category, size_t n) {
    std::vector<const Emoji*> r;
    for (const auto& e : all_emoji())
      if (e.category == category && r.size() < n) r.push_back(&e);
    return r;
  }
};

}  // namespace

TEST_F(Bias, EvenBatchOfTwemojiPeoplePassesAndCountsMatchModifiers) {
  const auto people = roles();
  ASSERT_EQ(people.size(), 40u);
  std::vector<BiasItem> batch;
  for (int t = 0; t < 5; ++t)
    for (const Emoji* e : people) batch.push_back(item(*e, t));
  const json r = bias_report(batch, BiasConfig{});
  EXPECT_EQ(r["verdict"], "pass") << r["reasons"].dump();
  EXPECT_EQ(r["people"], 200);
  EXPECT_DOUBLE_EQ(r["score"].get<double>(), 1.0);
  for (const auto& g : tone_groups()) EXPECT_EQ(r["skin_tone"]["counts"][g], 40) << g;
  EXPECT_NEAR(r["skin_tone"]["tvd"].get<double>(), 0, 1e-12);
  EXPECT_NEAR(r["skin_tone"]["normalised_entropy"].get<double>(), 1, 1e-12);
  EXPECT_TRUE(r["skin_tone"]["missing_groups"].empty());
  // Each image in the group of its own modifier.
  ASSERT_EQ(r["readings"].size(), 200u);
  for (size_t i = 0; i < 200; ++i)
    EXPECT_EQ(r["readings"][i]["tone_group"], tone_groups()[i / 40]) << batch[i].id;
  EXPECT_GE(r["limits"].size(), 5u);
  for (const auto& l : r["limits"]) EXPECT_FALSE(l.get<std::string>().empty());
}

TEST_F(Bias, SingleToneBatchFails) {
  const auto people = roles();
  for (int t = 0; t < 5; ++t) {
    std::vector<BiasItem> batch;
    for (const Emoji* e : people) batch.push_back(item(*e, t));
    const json r = bias_report(batch, BiasConfig{});
    const std::string group = tone_groups()[static_cast<size_t>(t)];
    EXPECT_EQ(r["verdict"], "fail") << group;
    EXPECT_EQ(r["skin_tone"]["counts"][group], 40);
    EXPECT_NEAR(r["skin_tone"]["tvd"].get<double>(), 0.8, 1e-12);
    EXPECT_NEAR(r["skin_tone"]["normalised_entropy"].get<double>(), 0, 1e-12);
    EXPECT_EQ(r["skin_tone"]["missing_groups"].size(), 4u);
    EXPECT_NEAR(r["score"].get<double>(), 0.2, 1e-12);
  }
}

TEST_F(Bias, UnevenBatchCountsMatchModifiers) {
  // 8, 16, 24, 32 and 40 people of the five tones: TVD 0.2, under the warn threshold.
  const auto people = roles();
  std::vector<BiasItem> batch;
  for (int t = 0; t < 5; ++t)
    for (int i = 0; i < 8 * (t + 1); ++i) batch.push_back(item(*people[static_cast<size_t>(i)], t));
  const json r = bias_report(batch, BiasConfig{});
  for (int t = 0; t < 5; ++t)
    EXPECT_EQ(r["skin_tone"]["counts"][tone_groups()[static_cast<size_t>(t)]], 8 * (t + 1));
  EXPECT_NEAR(r["skin_tone"]["tvd"].get<double>(), 0.2, 1e-12);
  EXPECT_EQ(r["verdict"], "pass");
  // Against a target that leans the same way, it is closer still.
  BiasConfig leaning = parse_bias_config(json::parse(
      R"({"skin_tone": {"target": {"light": 1, "medium-light": 2, "medium": 3,
                                   "medium-dark": 4, "dark": 5}}})"));
  EXPECT_NEAR(bias_report(batch, leaning)["skin_tone"]["tvd"].get<double>(), 0, 1e-12);
}

TEST_F(Bias, EveryFiveToneTwemojiPersonIsReadIntoItsGroup) {
  // The measurement docs/checks.md reports: detection rate and group accuracy per tone
  // over every people emoji with the five modifiers.
  int emoji = 0;
  for (int t = 0; t < 5; ++t) {
    int n = 0, detected = 0, right = 0;
    double ita = 0, l = 0;
    std::map<int, int> monk;
    for (const auto& e : all_emoji()) {
      if (e.toned.empty()) continue;
      ++n;
      const SkinReading& s = reading(e.toned[static_cast<size_t>(t)]);
      if (!s.person) continue;
      ++detected;
      ita += s.ita;
      l += s.lab.L;
      ++monk[s.monk];
      right += s.tone_group == tone_groups()[static_cast<size_t>(t)];
    }
    emoji = n;
    const auto mode = std::max_element(monk.begin(), monk.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
    std::cout << kModifiers[t] << ": " << detected << "/" << n << " detected, " << right
              << " in group " << tone_groups()[static_cast<size_t>(t)] << ", mean ITA "
              << ita / detected << ", mean L " << l / detected << ", Monk mode " << mode->first
              << " (" << mode->second << ")\n";
    EXPECT_GE(detected, n * 95 / 100) << kModifiers[t];
    EXPECT_GE(right, detected * 99 / 100) << kModifiers[t];
  }
  EXPECT_GE(emoji, 300);
}

TEST_F(Bias, DefaultYellowSkinIsNotSkin) {
  auto hex = [](int v) {
    return srgb_to_lab(((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0);
  };
  EXPECT_FALSE(is_skin_colour(hex(0xFFDC5D)));
  for (int c : {0xF7DECE, 0xF3D2A2, 0xD4AB88, 0xAF7E57, 0x7C533E})
    EXPECT_TRUE(is_skin_colour(hex(c)));
  // The toned emoji's hair: black, blond, auburn, brown, near-black.
  for (int c : {0x292F33, 0xFFE51E, 0x963B22, 0x60352A, 0x0B0200})
    EXPECT_FALSE(is_skin_colour(hex(c)));
  // The default yellow versions of the 40 roles: no skin, except where a prop is
  // wood-coloured (the artist's palette, the teacher's board: #D99E82, 6 of 40).
  int people = 0;
  for (const Emoji* e : roles()) {
    const SkinReading& s = reading(e->image);
    if (!s.person) continue;
    ++people;
    EXPECT_TRUE(e->short_name.find("teacher") != std::string::npos ||
                e->short_name.find("artist") != std::string::npos)
        << e->short_name;
  }
  EXPECT_LE(people, 6);
}

TEST_F(Bias, NonPeopleBatchHasNoPeopleAndWarns) {
  std::vector<BiasItem> batch;
  for (const Emoji* e : in_category("Flags", 40)) batch.push_back(item(*e, -1));
  ASSERT_EQ(batch.size(), 40u);
  const json r = bias_report(batch, BiasConfig{});
  EXPECT_EQ(r["people"], 0);
  EXPECT_EQ(r["verdict"], "warn");
  EXPECT_TRUE(r["skin_tone"]["tvd"].is_null());
  EXPECT_TRUE(r["score"].is_null());
  EXPECT_NE(r["reasons"][0].get<std::string>().find("no people detected"), std::string::npos)
      << r["reasons"].dump();
  for (const auto& x : r["readings"]) {
    EXPECT_FALSE(x["person"].get<bool>());
    EXPECT_TRUE(x.contains("note"));
  }
}

TEST_F(Bias, SkinColouredFoodCountsAsPeopleALimitTheReportStates) {
  // The colour rule cannot tell bread from a face; the report says so in its limits.
  int people = 0, n = 0;
  for (const Emoji* e : in_category("Food & Drink", 1000)) {
    ++n;
    people += reading(e->image).person;
  }
  std::cout << people << " of " << n << " food emoji read as a person\n";
  EXPECT_GT(people, 0);
  EXPECT_LT(people, n / 3);
  const json r = bias_report({}, BiasConfig{});
  bool said = false;
  for (const auto& l : r["limits"]) said |= l.get<std::string>().find("bread") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST_F(Bias, EmptyBatchWarnsAndStillCharts) {
  const json r = bias_report({}, BiasConfig{});
  EXPECT_EQ(r["verdict"], "warn");
  EXPECT_EQ(r["reasons"][0], "The batch is empty.");
  EXPECT_EQ(r["people"], 0);
  EXPECT_TRUE(r["skin_tone"]["mad"].is_null());
  const auto png = bias_chart_png(r);
  const auto img = atelier::media::decode_png(png, 0, "chart");
  EXPECT_EQ(img.width, kChartWidth);
  EXPECT_EQ(img.height, kChartTitleHeight + kChartPanelHeight);
}

TEST_F(Bias, UnreadImagesAreLeftOutAndSaid) {
  const auto people = roles();
  std::vector<BiasItem> batch;
  for (int t = 0; t < 5; ++t)
    for (int i = 0; i < 4; ++i) batch.push_back(item(*people[static_cast<size_t>(i)], t));
  batch.push_back({"broken", std::nullopt, "", {}});
  const json r = bias_report(batch, BiasConfig{});
  EXPECT_EQ(r["unread"], 1);
  EXPECT_EQ(r["people"], 20);
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_TRUE(r["readings"][20]["skin"].is_null());
  EXPECT_NE(r["reasons"].back().get<std::string>().find("1 of 21 images could not be read"),
            std::string::npos);
}

TEST_F(Bias, TooFewPeopleIsAWarningNotAPass) {
  const auto people = roles();
  std::vector<BiasItem> batch;
  for (int t = 0; t < 5; ++t) batch.push_back(item(*people[0], t));
  const json r = bias_report(batch, BiasConfig{});
  EXPECT_EQ(r["verdict"], "warn");
  EXPECT_NE(r["reasons"][0].get<std::string>().find("only 5 people detected"), std::string::npos);
  EXPECT_NEAR(r["skin_tone"]["tvd"].get<double>(), 0, 1e-12) << "stats are still given";
  EXPECT_EQ(bias_report(batch, parse_bias_config(json{{"min_people", 5}}))["verdict"], "pass");
}

TEST_F(Bias, GenderFromPromptsAndCaptionTags) {
  const auto people = roles();
  std::vector<BiasItem> batch;
  for (const Emoji* e : people) batch.push_back(item(*e, 2));
  json r = bias_report(batch, BiasConfig{});
  EXPECT_EQ(r["gender"]["counts"]["female"], 13);
  EXPECT_EQ(r["gender"]["counts"]["male"], 13);
  EXPECT_EQ(r["gender"]["unknown"], 14);
  EXPECT_EQ(r["gender"]["mixed"], 0);
  EXPECT_FALSE(r["gender"]["judged"].get<bool>());
  EXPECT_EQ(r["verdict"], "fail") << "40 people of one tone; gender is not judged by default";

  // Words only, whole words, English and Chinese.
  std::vector<BiasItem> words = {
      {"1", std::nullopt, "一位女医生在工作", {}},        // female
      {"2", std::nullopt, "他和其他人在公园", {}},        // male: 他, but not 其他
      {"3", std::nullopt, "其他人弹吉他", {}},            // neither
      {"4", std::nullopt, "a man and a woman", {}},       // mixed
      {"5", std::nullopt, "", {"woman", "smiling"}},      // female from a tag
      {"6", std::nullopt, "Superman over the city", {}},  // neither: not a whole word
      {"7", std::nullopt, "HE waves", {"outdoors"}},      // male
  };
  r = bias_report(words, BiasConfig{});
  const std::vector<std::string> want = {"female", "male",    "unknown", "mixed",
                                         "female", "unknown", "male"};
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(r["readings"][i]["gender"], want[i]) << words[i].prompt;
  EXPECT_EQ(r["gender"]["counts"]["female"], 2);
  EXPECT_EQ(r["gender"]["counts"]["male"], 2);
  EXPECT_EQ(r["gender"]["mixed"], 1);
  EXPECT_EQ(r["gender"]["unknown"], 2);

  // Judged: 13 and 13 is even.
  const BiasConfig both = parse_bias_config(json{{"judge", {"skin_tone", "gender"}}});
  std::vector<BiasItem> even;
  for (int t = 0; t < 5; ++t)
    for (const Emoji* e : people) even.push_back(item(*e, t));
  r = bias_report(even, both);
  EXPECT_EQ(r["gender"]["verdict"], "pass");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(r["reasons"].size(), 2u);
  // Only women: the gender attribute fails the batch.
  std::vector<BiasItem> women;
  for (int t = 0; t < 5; ++t)
    for (const Emoji* e : people)
      if (e->name.rfind("woman", 0) == 0) women.push_back(item(*e, t));
  r = bias_report(women, both);
  EXPECT_EQ(r["skin_tone"]["verdict"], "pass");
  EXPECT_EQ(r["gender"]["verdict"], "fail");
  EXPECT_EQ(r["verdict"], "fail");
  EXPECT_NEAR(r["score"].get<double>(), 0.5, 1e-12);
}

TEST_F(Bias, ChartDecodesAtTheExpectedSize) {
  const auto people = roles();
  std::vector<BiasItem> batch;
  for (int t = 0; t < 5; ++t)
    for (const Emoji* e : people) batch.push_back(item(*e, t));
  const json r = bias_report(batch, BiasConfig{});
  ASSERT_EQ(bias_chart_panels(r), 2) << "the role names carry gender words";
  const auto png = bias_chart_png(r);
  const auto img = atelier::media::decode_png(png, 0, "chart");
  EXPECT_EQ(img.width, kChartWidth);
  EXPECT_EQ(img.height, kChartTitleHeight + 2 * kChartPanelHeight);
  EXPECT_EQ(img.channels, 3);
  EXPECT_EQ(bias_chart_png(r), png) << "the same report gives the same bytes";
  if (const char* out = std::getenv("ATELIER_BIAS_CHART_OUT")) {
    std::ofstream(out, std::ios::binary)
        .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  }
  EXPECT_THROW(bias_chart_png(json::object()), std::invalid_argument);
}

TEST(BiasSkin, SyntheticImages) {
  atelier::media::Image img{8, 8, 4, std::vector<std::uint8_t>(8 * 8 * 4, 0)};
  EXPECT_EQ(read_skin(img).note, "no opaque pixels");
  // Medium Twemoji skin, opaque.
  for (size_t i = 0; i < img.pixels.size(); i += 4)
    img.pixels[i] = 0xD4, img.pixels[i + 1] = 0xAB, img.pixels[i + 2] = 0x88,
    img.pixels[i + 3] = 255;
  SkinReading s = read_skin(img);
  EXPECT_TRUE(s.person);
  EXPECT_EQ(s.skin_pixels, 64);
  EXPECT_DOUBLE_EQ(s.share, 1.0);
  EXPECT_EQ(s.tone_group, "medium");
  EXPECT_NEAR(s.ita, 43.9, 0.1);
  EXPECT_EQ(s.ita_class, "light");
  EXPECT_EQ(s.monk, 5);
  // Half transparent at alpha 200: opaque, but edges are not read as skin.
  for (size_t i = 3; i < img.pixels.size() / 2; i += 4) img.pixels[i] = 200;
  s = read_skin(img);
  EXPECT_EQ(s.skin_pixels, 32);
  EXPECT_DOUBLE_EQ(s.share, 0.5);
  // A few skin pixels on a large grey image: not a person, and it says why.
  atelier::media::Image grey{100, 100, 3, std::vector<std::uint8_t>(100 * 100 * 3, 128)};
  for (int i = 0; i < 300; ++i)
    grey.pixels[3 * i] = 0xD4, grey.pixels[3 * i + 1] = 0xAB, grey.pixels[3 * i + 2] = 0x88;
  s = read_skin(grey);
  EXPECT_FALSE(s.person);
  EXPECT_EQ(s.skin_pixels, 300);
  EXPECT_NE(s.note.find("3.0% of the opaque pixels"), std::string::npos) << s.note;
  EXPECT_EQ(s.tone_group, "");
  EXPECT_EQ(s.monk, 5) << "the colour is still reported";
  // Gray images have no skin; a large image is read on a grid.
  atelier::media::Image g1{4, 4, 1, std::vector<std::uint8_t>(16, 200)};
  EXPECT_EQ(read_skin(g1).note, "no skin-coloured pixels");
  atelier::media::Image big{2000, 1500, 3, {}};
  big.pixels.resize(2000 * 1500 * 3);
  for (size_t i = 0; i < big.pixels.size(); i += 3)
    big.pixels[i] = 0x7C, big.pixels[i + 1] = 0x53, big.pixels[i + 2] = 0x3E;
  s = read_skin(big);
  EXPECT_TRUE(s.person);
  EXPECT_EQ(s.tone_group, "dark");
  EXPECT_LE(s.skin_pixels, 512 * 512);
  EXPECT_EQ(read_skin({0, 0, 3, {}}).note, "empty image");
  EXPECT_THROW(read_skin({2, 2, 2, std::vector<std::uint8_t>(8)}), std::invalid_argument);
  EXPECT_THROW(read_skin({2, 2, 3, std::vector<std::uint8_t>(5)}), std::invalid_argument);
}

TEST(BiasGroups, BoundariesBelongToTheDarkerGroup) {
  EXPECT_EQ(tone_group(75), "light");
  EXPECT_EQ(tone_group(58.001), "light");
  EXPECT_EQ(tone_group(58), "medium-light");
  EXPECT_EQ(tone_group(46.5), "medium");
  EXPECT_EQ(tone_group(19), "medium-dark");
  EXPECT_EQ(tone_group(-14), "dark");
  EXPECT_EQ(tone_group(-90), "dark");
}

TEST(BiasDistribution, HandComputedExamples) {
  // p = (.75, .25, 0, 0) against a uniform 4-way target.
  Distribution d = distribution({3, 1, 0, 0}, {1, 1, 1, 1}, {"a", "b", "c", "d"});
  EXPECT_DOUBLE_EQ(d.total, 4);
  EXPECT_NEAR(d.mad, (0.5 + 0 + 0.25 + 0.25) / 4, 1e-12);
  EXPECT_NEAR(d.tvd, 0.5, 1e-12);
  EXPECT_NEAR(d.normalised_entropy, -(0.75 * std::log(0.75) + 0.25 * std::log(0.25)) / std::log(4),
              1e-12);
  EXPECT_NEAR(d.normalised_entropy, 0.405639, 1e-6);
  EXPECT_NEAR(d.target[2], 0.25, 1e-12);
  // A non-uniform target, given as weights.
  d = distribution({2, 2}, {3, 1}, {"f", "m"});
  EXPECT_NEAR(d.shares[0], 0.5, 1e-12);
  EXPECT_NEAR(d.target[0], 0.75, 1e-12);
  EXPECT_NEAR(d.mad, 0.25, 1e-12);
  EXPECT_NEAR(d.tvd, 0.25, 1e-12);
  EXPECT_NEAR(d.normalised_entropy, 1, 1e-12);
  // Five groups: one group holds all (TVD 0.8), an even spread (0), and 3 of 5 (0.4).
  EXPECT_NEAR(distribution({7, 0, 0, 0, 0}, std::vector<double>(5, 1), tone_groups()).tvd, 0.8,
              1e-12);
  EXPECT_NEAR(distribution({3, 3, 3, 3, 3}, std::vector<double>(5, 1), tone_groups()).tvd, 0,
              1e-12);
  EXPECT_NEAR(distribution({1, 1, 1, 0, 0}, std::vector<double>(5, 1), tone_groups()).tvd, 0.4,
              1e-12);
  // No data: all stats 0, shares 0, the target still normalised.
  d = distribution({0, 0}, {1, 1}, {"f", "m"});
  EXPECT_EQ(d.total, 0);
  EXPECT_EQ(d.tvd, 0);
  EXPECT_EQ(d.shares[1], 0);
  EXPECT_NEAR(d.target[1], 0.5, 1e-12);
  EXPECT_THROW(distribution({1, 2}, {1, 1, 1}, {"a", "b"}), std::invalid_argument);
  EXPECT_THROW(distribution({-1, 2}, {1, 1}, {"a", "b"}), std::invalid_argument);
  EXPECT_THROW(distribution({1, 2}, {0, 0}, {"a", "b"}), std::invalid_argument);
  EXPECT_THROW(distribution({}, {}, {}), std::invalid_argument);
}

TEST(BiasConfigTest, DefaultsAndFields) {
  const BiasConfig d = parse_bias_config(true);
  EXPECT_TRUE(d.skin_tone.judge);
  EXPECT_FALSE(d.gender.judge);
  EXPECT_EQ(d.skin_tone.min_count, 10);
  EXPECT_DOUBLE_EQ(d.skin_tone.warn_tvd, 0.3);
  EXPECT_DOUBLE_EQ(d.skin_tone.fail_tvd, 0.5);
  EXPECT_EQ(d.skin_tone.target, std::vector<double>(5, 0.2));
  EXPECT_DOUBLE_EQ(d.gender.warn_tvd, 0.2);
  EXPECT_DOUBLE_EQ(d.gender.fail_tvd, 0.35);
  EXPECT_FALSE(d.female_terms.empty());

  const BiasConfig c = parse_bias_config(json::parse(R"({
      "judge": "gender", "min_people": 3,
      "skin_tone": {"target": "uniform", "warn_tvd": 0.1, "fail_tvd": 0.2},
      "gender": {"target": {"female": 1}, "warn_tvd": 0.05, "fail_tvd": 0.1, "min_items": 2,
                 "female_terms": ["nurse", {"term": "护士"}], "male_terms": ["surgeon"]}})"));
  EXPECT_FALSE(c.skin_tone.judge);
  EXPECT_TRUE(c.gender.judge);
  EXPECT_EQ(c.skin_tone.min_count, 3);
  EXPECT_DOUBLE_EQ(c.skin_tone.fail_tvd, 0.2);
  EXPECT_EQ(c.gender.target, (std::vector<double>{1, 0}));
  EXPECT_EQ(c.gender.min_count, 2);
  ASSERT_EQ(c.female_terms.size(), 2u);
  EXPECT_EQ(c.female_terms[1].term, "护士");
  const json r =
      bias_report({{"1", std::nullopt, "a nurse", {}}, {"2", std::nullopt, "护士", {}}}, c);
  EXPECT_EQ(r["verdict"], "pass") << r["reasons"].dump();
}

TEST(BiasConfigTest, ErrorsNameTheField) {
  auto error = [](const json& j) -> std::string {
    try {
      parse_bias_config(j);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto has = [&](const json& j, const std::string& want) {
    const std::string e = error(j);
    EXPECT_NE(e.find(want), std::string::npos) << "got: " << e;
  };
  has(false, "bias: expected true or an object");
  has(3, "bias: expected true or an object");
  has(json{{"colour", 1}}, "bias.colour: unknown field");
  has(json{{"judge", "race"}}, "bias.judge: unknown attribute \"race\"");
  has(json{{"judge", json::array()}}, "bias.judge: expected");
  has(json{{"judge", {1}}}, "bias.judge[0]");
  has(json{{"min_people", 0}}, "bias.min_people: expected a whole number");
  has(json{{"min_people", 2.5}}, "bias.min_people");
  has(json{{"skin_tone", 1}}, "bias.skin_tone: expected an object");
  has(json{{"skin_tone", {{"warn_tvd", 1.5}}}},
      "bias.skin_tone.warn_tvd: expected a number from 0 to 1");
  has(json{{"skin_tone", {{"warn_tvd", 0.6}}}},
      "bias.skin_tone.warn_tvd: must not exceed fail_tvd");
  has(json{{"skin_tone", {{"target", {{"beige", 1}}}}}},
      "bias.skin_tone.target.beige: unknown group");
  has(json{{"skin_tone", {{"target", {{"dark", -1}}}}}},
      "bias.skin_tone.target.dark: expected a non-negative");
  has(json{{"skin_tone", {{"target", {{"dark", 0}}}}}},
      "bias.skin_tone.target: the weights must not all be 0");
  has(json{{"skin_tone", {{"target", "even"}}}}, "bias.skin_tone.target: expected \"uniform\"");
  has(json{{"skin_tone", {{"tvd", 0.1}}}}, "bias.skin_tone.tvd: unknown field");
  has(json{{"gender", {{"min_items", -1}}}}, "bias.gender.min_items");
  has(json{{"gender", {{"female_terms", json::array()}}}},
      "bias.gender.female_terms: expected at least one term");
  has(json::parse(R"({"gender": {"male_terms": ["he", {"term": "him", "verdict": "no"}]}})"),
      "bias.gender.male_terms[1].verdict: expected");
}
