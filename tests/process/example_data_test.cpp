// `atelier example-data`: the example campaign's inputs from the datasets
// cache: 60 brand images (12 per product-like subcategory, none held out of base
// training) with their licence, the held-out Twemoji slice as protected works,
// and the same files again on a second run.
#include <gtest/gtest.h>

#include <set>

#include "ml/campaign_data.h"
#include "ml/emoji_dataset.h"
#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

TEST(ExampleData, WritesTheBrandSetAndTheProtectedWorksOnceAndForAll) {
  TempWorkspace tw;
  const fs::path dir = tw.dir() / "campaign";
  ProcResult r = run_atelier({"--json", "example-data", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json out = parse_out(r);
  EXPECT_EQ(out["brand_images"], 60);
  ASSERT_EQ(out["brand_names"].size(), 60u);

  // Every brand image is a training-split base emoji of one of the five subcategories.
  std::map<std::string, ml::EmojiRecord> google;
  for (auto& rec : ml::load_emoji_records(ml::emoji_package_dir("google"), "google"))
    if (rec.unified == rec.base) google.emplace(rec.name, rec);
  std::map<std::string, int> per_sub;
  for (const json& n : out["brand_names"]) {
    ASSERT_TRUE(google.count(n.get<std::string>())) << n;
    const ml::EmojiRecord& rec = google.at(n.get<std::string>());
    EXPECT_FALSE(rec.held_out) << n;
    ++per_sub[rec.subcategory];
  }
  EXPECT_EQ(per_sub.size(), 5u);
  for (const auto& [sub, n] : per_sub) EXPECT_EQ(n, 12) << sub;
  EXPECT_EQ(read_file_text(dir / "brand" / "licence.txt").substr(0, 11), "Apache-2.0\n");
  EXPECT_EQ(read_file_text(dir / "protected" / "licence.txt").substr(0, 10), "CC-BY-4.0\n");

  // The protected works are exactly the held-out base emoji of Twemoji.
  size_t held_out = 0;
  for (const auto& rec : ml::load_emoji_records(ml::emoji_package_dir("twitter"), "twitter"))
    held_out += rec.unified == rec.base && rec.held_out;
  EXPECT_EQ(out["protected_works"].get<size_t>(), held_out);
  EXPECT_GT(held_out, 100u);

  // Again: nothing changes.
  std::map<std::string, fs::file_time_type> before;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".png")
      before[e.path()] = e.last_write_time();
  r = run_atelier({"--json", "example-data", dir.string()});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(parse_out(r)["brand_names"], out["brand_names"]);
  for (const auto& [path, t] : before) EXPECT_EQ(fs::last_write_time(path), t) << path;
}
