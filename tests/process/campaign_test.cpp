// The example campaign end to end, reduced (a LoRA of 4 steps, 2 products, 2
// seeds per shot, 2 people per occupation) but otherwise the README's main job:
// inputs from the datasets cache, the registry, caption -> LoRA -> shots and
// people -> checks with a gate and a bias audit -> 3 videos per product -> the
// report; then provenance of a video back to the brand images, and export.
#include <gtest/gtest.h>

#include <set>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

TEST(Campaign, TheReducedExampleCampaignRunsEndToEnd) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  const fs::path data = tw.dir() / "data";
  ASSERT_EQ(run_atelier({"example-data", data.string()}).exit_code, 0);
  ProcResult r = run_atelier(
      {"-w", w, "registry", "add", (data / "protected").string(), "--label", "held-out Twemoji"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_atelier({"-w", w, "--json", "run", std::string(ATELIER_EXAMPLES) + "/campaign.yaml",
                   "--set", "data=" + data.string(), "--set", "lora_steps=4", "--set",
                   "products=[red apple, croissant]", "--set", "seeds_per_shot=2", "--set",
                   "people_per_job=2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json status = parse_out(r);
  EXPECT_EQ(status["state"], "succeeded");
  EXPECT_EQ(status["stages"]["shots"]["succeeded"], 4);
  EXPECT_EQ(status["stages"]["vet"]["succeeded"], 4 * 2 + 1) << "a check per shot, and its expand job";
  EXPECT_EQ(status["checks"]["bias"].size(), 1u) << "the people batch was audited";

  auto store = tw.store();
  std::map<std::string, int> by_type;
  std::vector<std::string> videos;
  bool report = false, bias_report = false;
  for (const AssetRow& a : store->list_assets(1)) {
    ++by_type[a.media_type];
    if (a.media_type == "video/mp4") videos.push_back(a.sha256);
    report = report || a.name == "report.html";
    bias_report = bias_report || a.name == "bias_report.json";
  }
  EXPECT_EQ(videos.size(), 6u) << "3 aspects x 2 products";
  EXPECT_GE(by_type["image/png"], 8 + 16);
  EXPECT_TRUE(report);
  EXPECT_TRUE(bias_report);

  // A video traces back through its shots and the LoRA to the brand images.
  r = run_atelier({"-w", w, "--json", "provenance", videos.front()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> sources;
  std::function<void(const json&)> walk = [&](const json& n) {
    if (n.contains("info") && n["info"].contains("source_path"))
      sources.insert(n["info"]["source_path"].get<std::string>());
    if (n.contains("children"))
      for (const json& c : n["children"]) walk(c);
  };
  walk(parse_out(r)["lineage"]);
  bool brand = false;
  for (const std::string& s : sources) brand = brand || s.find("/brand/") != std::string::npos;
  EXPECT_TRUE(brand) << "no brand image in the video's lineage";

  r = run_atelier({"-w", w, "--json", "export", "r1", (tw.dir() / "deliver").string(), "--name",
                   "{product}_{aspect}_{seed}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json exported = parse_out(r);
  std::set<std::string> files;
  for (const json& f : exported["files"]) files.insert(f["file"].get<std::string>());
  EXPECT_TRUE(files.count("croissant_1080x1920_na.mp4")) << exported.dump(1);
  EXPECT_TRUE(files.count("croissant_na_11.png")) << "a shot: no aspect, its seed";
}
