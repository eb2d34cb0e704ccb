// `atelier provenance` through real processes: caption -> train_lora -> generate
// with tiny models, then the output traced back to the brand images that trained
// its LoRA, one brand image traced forward to that output, the W3C PROV-JSON
// form checked for its structure, and a re-encoded, resized, metadata-stripped
// copy traced by similarity with its distance.
#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

#include "media/png_io.h"
#include "media/png_meta.h"
#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

// Every value of `key` anywhere in a lineage tree.
void collect(const json& node, const std::string& key, std::set<std::string>& out) {
  if (node.is_object()) {
    if (node.contains("info") && node["info"].contains(key))
      out.insert(node["info"][key].get<std::string>());
    if (node.contains("children"))
      for (const json& c : node["children"]) collect(c, key, out);
  }
}

void write_brand(const fs::path& dir) {
  fs::create_directories(dir);
  for (int k = 0; k < 3; ++k) {
    media::Image img{24, 24, 3, {}};
    img.pixels.resize(24 * 24 * 3);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = static_cast<uint8_t>((i * (7 + 4 * k) + 40 * k) % 256);
    media::write_png(dir / ("brand" + std::to_string(k) + ".png"), img);
  }
}

}  // namespace

TEST(Provenance, TracesAnOutputToItsBrandImagesAndBack) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  write_tiny_captioner(tw.dir() / "models", "tinycap");
  write_brand(tw.dir() / "brand");
  auto spec = tw.write_file("brand.yaml", R"(version: 1
name: brand
stages:
  - id: cap
    kind: caption
    with: {images: {path: brand/, licence: CC-BY-4.0}, trigger: acme, captioner: tinycap}
  - id: lora
    kind: train_lora
    needs: cap
    with: {images: {path: brand/, licence: CC-BY-4.0}, model: tiny, name: acme-style,
           trigger: acme, rank: 2, alpha: 1, steps: 2, batch: 2, seed: 1}
  - id: styled
    kind: generate
    needs: lora
    with: {prompt: "acme, red apple", model: tiny, steps: 2, seed: 3, size: 32,
           loras: [{model: "${lora.model}", scale: 0.8}]}
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier(
      {"-w", w, "run", spec.string(), "--workers", "caption=1,train_lora=1,generate=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  const std::string out_sha = store->stage_jobs(1, "styled").at(0).outputs.at(0);
  const fs::path out_file =
      AssetStore(tw.ws().assets_dir(), tw.ws().tmp_dir()).path_for(out_sha, "png");

  // Upstream: the output -> generate job -> LoRA -> its training images (the brand
  // files, with their licence) and captions -> the base model.
  r = run_atelier({"-w", w, "--json", "provenance", out_file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json up = parse_out(r);
  EXPECT_EQ(up["found"]["by"], "sha256");
  EXPECT_EQ(up["found"]["sha256"], out_sha);
  std::set<std::string> sources, kinds, models;
  collect(up["lineage"], "source_path", sources);
  collect(up["lineage"], "kind", kinds);
  collect(up["lineage"], "model", models);
  for (int k = 0; k < 3; ++k)
    EXPECT_TRUE(
        sources.count((tw.dir() / "brand" / ("brand" + std::to_string(k) + ".png")).string()))
        << up.dump(1);
  for (const char* k : {"generate", "train_lora", "caption"}) EXPECT_TRUE(kinds.count(k)) << k;
  EXPECT_TRUE(models.count("acme-style")) << "the LoRA node names its model";
  EXPECT_NE(r.out.find("CC-BY-4.0"), std::string::npos);
  r = run_atelier({"-w", w, "provenance", out_sha});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("train_lora"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("brand1.png"), std::string::npos) << r.out;

  // Downstream from one brand image: its caption, the LoRA and the output.
  r = run_atelier(
      {"-w", w, "--json", "provenance", "--used-by", (tw.dir() / "brand" / "brand1.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json down = parse_out(r);
  std::set<std::string> downstream;
  for (const json& a : down["used_by"]) downstream.insert(a["sha256"].get<std::string>());
  EXPECT_TRUE(downstream.count(out_sha)) << down.dump(1);
  EXPECT_TRUE(downstream.count(store->stage_jobs(1, "lora").at(0).outputs.at(0)) ||
              downstream.count(store->stage_jobs(1, "lora").at(0).outputs.back()));

  // PROV-JSON: entities, activities and the relations between them, all pointing at
  // declared identifiers.
  r = run_atelier({"-w", w, "provenance", out_sha, "--format", "prov-json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json prov = parse_out(r);
  for (const char* k : {"prefix", "entity", "activity", "agent", "used", "wasGeneratedBy",
                        "wasDerivedFrom", "wasAssociatedWith"})
    ASSERT_TRUE(prov.contains(k)) << k;
  EXPECT_TRUE(prov["entity"].contains("sha256:" + out_sha));
  EXPECT_GE(prov["activity"].size(), 3u);
  EXPECT_GE(prov["entity"].size(), 6u);
  auto declared = [&](const std::string& kind, const json& id) {
    return id.is_string() && prov[kind].contains(id.get<std::string>());
  };
  for (auto& [k, u] : prov["used"].items()) {
    EXPECT_TRUE(declared("activity", u["prov:activity"])) << u;
    EXPECT_TRUE(declared("entity", u["prov:entity"])) << u;
  }
  bool output_generated = false;
  for (auto& [k, g] : prov["wasGeneratedBy"].items()) {
    EXPECT_TRUE(declared("entity", g["prov:entity"])) << g;
    EXPECT_TRUE(declared("activity", g["prov:activity"])) << g;
    output_generated |= g["prov:entity"] == "sha256:" + out_sha;
  }
  EXPECT_TRUE(output_generated);
  bool derived_from_brand = false;
  for (auto& [k, d] : prov["wasDerivedFrom"].items()) {
    EXPECT_TRUE(declared("entity", d["prov:generatedEntity"])) << d;
    EXPECT_TRUE(declared("entity", d["prov:usedEntity"])) << d;
    derived_from_brand |= prov["entity"][d["prov:usedEntity"].get<std::string>()]
                              .value("atelier:source_path", "")
                              .find("brand1.png") != std::string::npos;
  }
  EXPECT_TRUE(derived_from_brand);

  // The same pixels and manifest in a rewritten file (the A1111 chunk dropped): the
  // bytes are new, the embedded manifest finds the asset and its signature holds.
  {
    const media::PngInfo info = media::read_png_metadata_file(out_file);
    std::vector<media::PngText> kept;
    for (const media::PngText& t : info.texts)
      if (t.keyword != "parameters") kept.push_back(t);
    media::write_png(tw.dir() / "rewritten.png", media::read_png(out_file, 3), kept);
  }
  r = run_atelier({"-w", w, "--json", "provenance", (tw.dir() / "rewritten.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json by_manifest = parse_out(r);
  EXPECT_EQ(by_manifest["found"]["by"], "manifest");
  EXPECT_EQ(by_manifest["found"]["sha256"], out_sha);
  EXPECT_EQ(by_manifest["found"]["detail"]["signature"].get<std::string>().substr(0, 5), "valid");

  // A copy re-encoded as JPEG quality 70 at 80% size, with no metadata, is traced by
  // similarity, and says so with its distance.
  {
    cv::Mat bgr = cv::imread(out_file.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty());
    cv::Mat small;
    cv::resize(bgr, small, cv::Size(), 0.8, 0.8, cv::INTER_AREA);
    ASSERT_TRUE(
        cv::imwrite((tw.dir() / "reposted.jpg").string(), small, {cv::IMWRITE_JPEG_QUALITY, 70}));
  }
  r = run_atelier({"-w", w, "--json", "provenance", (tw.dir() / "reposted.jpg").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json sim = parse_out(r);
  EXPECT_EQ(sim["found"]["by"], "similarity");
  EXPECT_EQ(sim["found"]["sha256"], out_sha);
  EXPECT_LE(sim["found"]["detail"]["pdq_distance"].get<int>(), 64);
  r = run_atelier({"-w", w, "provenance", (tw.dir() / "reposted.jpg").string()});
  EXPECT_NE(r.out.find("similarity"), std::string::npos);
  EXPECT_NE(r.out.find("PDQ distance"), std::string::npos);

  // Something unrelated is not found, and the answer names the nearest.
  media::Image flat{48, 48, 3, std::vector<uint8_t>(48 * 48 * 3, 0)};
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 48; ++x) {
      const int r2 = (x - 20) * (x - 20) + (y - 26) * (y - 26);
      flat.pixels[(y * 48 + x) * 3] = static_cast<uint8_t>((r2 / 30) % 2 ? 230 : 20);
      flat.pixels[(y * 48 + x) * 3 + 2] = static_cast<uint8_t>(x * 5);
    }
  media::write_png(tw.dir() / "other.png", flat);
  r = run_atelier({"-w", w, "provenance", (tw.dir() / "other.png").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("nearest"), std::string::npos) << r.err;
  r = run_atelier({"-w", w, "provenance", (tw.dir() / "missing.png").string()});
  EXPECT_EQ(r.exit_code, 2);
}
