// The `video` kind through the queue, its MP4s checked with ffprobe and ffmpeg
// (both from Debian's ffmpeg package): streams, sizes per aspect, frame rate,
// durations, moov before mdat, decoded colours inside an image and inside a
// transition, text drawn where it should be, bad inputs failing alone with a
// clear error, and cancellation mid-encode.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "media/png_io.h"
#include "media/png_meta.h"
#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "provenance/signing.h"
#include "support/media_probe.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::map<std::string, AssetRow> assets_by_name(Store& store, int64_t run) {
  std::map<std::string, AssetRow> m;
  for (const AssetRow& a : store.list_assets(run)) m[a.name] = a;
  return m;
}

// Runs `spec` to success on one video worker and returns the file of its output
// asset `name`.
fs::path run_to_file(TempWorkspace& tw, const fs::path& spec, const std::string& name) {
  ProcResult r =
      run_atelier({"-w", tw.dir().string(), "run", spec.string(), "--workers", "video=1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  auto assets = assets_by_name(*store, 1);
  EXPECT_TRUE(assets.count(name)) << name << " missing\n" << r.out << r.err;
  return assets.count(name) ? asset_file(tw, assets.at(name)) : fs::path();
}

}  // namespace

TEST(Video, ThreeAspectsWithAudioTextAndTransitions) {
  TempWorkspace tw(fast_config());
  write_solid_png(tw.dir() / "imgs" / "1.png", 64, 48, 220, 30, 30);
  write_solid_png(tw.dir() / "imgs" / "2.png", 48, 64, 30, 200, 40);
  write_solid_png(tw.dir() / "imgs" / "3.png", 32, 32, 30, 40, 210);
  write_tone_wav(tw.dir() / "tone.wav", 1.0);
  auto spec = tw.write_file("ad.yaml", R"(version: 1
name: ad
stages:
  - id: ad
    kind: video
    with:
      images: imgs/
      audio: tone.wav
      aspects: ["320x180", "180x320", "160x160"]
      fps: 10
      seconds_per_image: 1
      transition: {type: wipeleft, seconds: 0.3}
      ken_burns: {motion: zoom_in, amount: 0.1}
      fit: contain-blur
      title: "新品上市 Fresh picks"
      subtitle: "50% off \"today\" only"
      cta: "Shop now"
      captions: [red, green, blue]
      preset: ultrafast
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "video=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  auto assets = assets_by_name(*store, 1);
  ASSERT_EQ(assets.size(), 9u);  // three MP4s, three posters, three signed manifests
  const std::vector<std::pair<int, int>> sizes = {{320, 180}, {180, 320}, {160, 160}};
  // 3 images x 10 frames - 2 transitions x 3 frames = 24 frames = 2.4 s.
  const double expect_s = 2.4, frame_s = 0.1;
  for (auto [wd, ht] : sizes) {
    const std::string label = std::to_string(wd) + "x" + std::to_string(ht);
    ASSERT_TRUE(assets.count("video-" + label + ".mp4")) << label;
    const AssetRow& v = assets["video-" + label + ".mp4"];
    EXPECT_EQ(v.media_type, "video/mp4");
    const fs::path file = asset_file(tw, v);
    json probe = ffprobe(file);
    const json* vs = nullptr;
    const json* as = nullptr;
    for (const auto& s : probe["streams"]) {
      if (s["codec_type"] == "video") vs = &s;
      if (s["codec_type"] == "audio") as = &s;
    }
    ASSERT_NE(vs, nullptr) << probe.dump();
    EXPECT_EQ((*vs)["codec_name"], "h264");
    EXPECT_EQ((*vs)["pix_fmt"], "yuv420p");
    EXPECT_EQ((*vs)["width"], wd);
    EXPECT_EQ((*vs)["height"], ht);
    EXPECT_EQ((*vs)["r_frame_rate"], "10/1");
    EXPECT_EQ((*vs)["nb_frames"], "24");
    EXPECT_NEAR(std::stod((*vs)["duration"].get<std::string>()), expect_s, frame_s) << label;
    EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), expect_s, frame_s);
    ASSERT_NE(as, nullptr) << "no audio stream in " << label;
    EXPECT_EQ((*as)["codec_name"], "aac");
    EXPECT_NEAR(std::stod((*as)["duration"].get<std::string>()), expect_s, frame_s) << label;
    auto atoms = top_atoms(file);
    auto moov = std::find(atoms.begin(), atoms.end(), "moov");
    auto mdat = std::find(atoms.begin(), atoms.end(), "mdat");
    ASSERT_NE(moov, atoms.end());
    ASSERT_NE(mdat, atoms.end());
    EXPECT_LT(moov - atoms.begin(), mdat - atoms.begin()) << "not faststart: " << label;
    ASSERT_TRUE(assets.count("poster-" + label + ".png"));
    auto meta = media::read_png_metadata_file(asset_file(tw, assets["poster-" + label + ".png"]));
    EXPECT_EQ(meta.width, wd);
    EXPECT_EQ(meta.height, ht);
    // Lineage: made from the three images and the audio.
    auto src = store->asset_sources(v.sha256);
    EXPECT_EQ(src.size(), 4u);
    // Its signed manifest names the video and what it was cut from.
    ASSERT_TRUE(assets.count("video-" + label + ".manifest.json"));
    std::ifstream mf(asset_file(tw, assets["video-" + label + ".manifest.json"]));
    const json manifest = json::parse(mf);
    EXPECT_EQ(manifest["video"]["sha256"], v.sha256);
    EXPECT_EQ(manifest["inputs"].size(), 4u);
    EXPECT_EQ(provenance::check_manifest_signature(manifest).status,
              provenance::SignatureCheck::valid);
  }
  // One job made all nine files (progress during an encode: the cancel test).
  auto jobs = store->list_jobs({.run_id = 1});
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].state, "succeeded");
  // `verify r1`: each video by its signed sidecar (the video kind writes only the
  // fields atelier-video-manifest/2 defines), each poster stated as not signed.
  r = run_atelier({"-w", w, "--json", "verify", "r1"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const json verified = json::parse(r.out);
  EXPECT_EQ(verified["files"].size(), 6u) << r.out;
  int videos = 0;
  for (const json& f : verified["files"])
    for (const json& c : f["checks"])
      if (c["check"] == "video") videos += c["status"] == "match";
  EXPECT_EQ(videos, 3) << r.out;
}

TEST(Video, FramesShowTheirImagesAndTransitionsBlendBoth) {
  TempWorkspace tw(fast_config());
  write_solid_png(tw.dir() / "imgs" / "a.png", 40, 40, 230, 20, 20);
  write_solid_png(tw.dir() / "imgs" / "b.png", 40, 40, 20, 20, 230);
  auto spec = tw.write_file("cut.yaml", R"(version: 1
name: colours
stages:
  - id: v
    kind: video
    with:
      images: imgs/
      aspects: ["64x64"]
      fps: 10
      seconds_per_image: 1
      transition: {type: fade, seconds: 0.4}
      crf: 10
)");
  const fs::path f = run_to_file(tw, spec, "video-64x64.mp4");
  ASSERT_FALSE(f.empty());
  // Image a alone until frame 6, the fade over frames 6-9, image b alone after.
  auto a = mean_rgb(frame_at(f, 0.25, 64, 64));
  auto mid = mean_rgb(frame_at(f, 0.8, 64, 64));
  auto b = mean_rgb(frame_at(f, 1.35, 64, 64));
  EXPECT_GT(a[0], 180);
  EXPECT_LT(a[2], 60);
  EXPECT_GT(b[2], 180);
  EXPECT_LT(b[0], 60);
  EXPECT_GT(mid[0], 60) << "inside the fade, red remains";
  EXPECT_GT(mid[2], 60) << "inside the fade, blue shows";
  EXPECT_LT(mid[0], 200);
  EXPECT_LT(mid[2], 200);
  json probe = ffprobe(f);
  EXPECT_EQ(probe["streams"].size(), 1u) << "silent video: no audio stream";
}

TEST(Video, TextIsDrawnInItsBoxAtItsTime) {
  TempWorkspace tw(fast_config());
  write_solid_png(tw.dir() / "imgs" / "g.png", 8, 8, 128, 128, 128);
  const std::string long_title =
      "Autumn collection: 200 characters of title that must wrap over several lines without "
      "losing a word, with 100% of the text shown and \"quotes\", 'apostrophes' and a "
      "backslash \\ kept literally, end of the line.";
  ASSERT_GE(long_title.size(), 200u);
  auto spec = tw.write_file(
      "text.yaml", R"(version: 1
name: text
stages:
  - id: v
    kind: video
    with:
      images: imgs/
      aspects: ["320x320"]
      fps: 10
      seconds_per_image: 4
      title: ")" + std::string("新鲜水果，今日特价") +
                       R"("
      title_style: {start: 0, end: 1, position: top}
      subtitle: ")" +
                       [&] {
                         std::string s;
                         for (char c : long_title)
                           s += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
                         return s;
                       }() +
                       R"("
      subtitle_style: {start: 1, end: 2, position: center}
      cta: "50% off: 'today' only \"now\""
      cta_style: {start: 2, end: 3, position: bottom}
      transition: cut
)");
  const fs::path f = run_to_file(tw, spec, "video-320x320.mp4");
  ASSERT_FALSE(f.empty());
  const auto blank = frame_at(f, 3.5, 320, 320);  // no text in the last second
  auto changed_rows = [&](const std::vector<uint8_t>& px, int y0, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = 0; x < 320; ++x)
        for (int c = 0; c < 3; ++c) {
          const size_t i = (static_cast<size_t>(y) * 320 + x) * 3 + c;
          if (std::abs(int(px[i]) - int(blank[i])) > 40) {
            ++n;
            c = 3;
          }
        }
    return n;
  };
  const auto title = frame_at(f, 0.5, 320, 320);
  const auto subtitle = frame_at(f, 1.5, 320, 320);
  const auto cta = frame_at(f, 2.5, 320, 320);
  EXPECT_GT(changed_rows(title, 0, 80), 500) << "Chinese title at the top";
  EXPECT_EQ(changed_rows(title, 200, 320), 0) << "nothing at the bottom yet";
  EXPECT_GT(changed_rows(subtitle, 60, 260), 2000) << "the wrapped 200-character subtitle";
  EXPECT_GT(changed_rows(cta, 240, 320), 300) << "the call to action at the bottom";
  EXPECT_EQ(changed_rows(cta, 0, 80), 0) << "the title is gone";
}

TEST(Video, BadInputsFailAloneWithClearErrors) {
  TempWorkspace tw(fast_config());
  write_solid_png(tw.dir() / "good" / "1.png", 16, 16, 10, 200, 10);
  fs::create_directories(tw.dir() / "corrupt");
  std::ofstream(tw.dir() / "corrupt" / "broken.png") << "not a png at all";
  std::ofstream(tw.dir() / "noise.wav") << "RIFF....WAVEjunkjunkjunk";
  fs::create_directories(tw.dir() / "texts");
  std::ofstream(tw.dir() / "texts" / "readme.txt") << "no images here";
  // Five bad jobs and a good one, independent of each other, on one worker.
  auto spec = tw.write_file("bad.yaml", R"(version: 1
name: bad
stages:
  - id: corrupt_image
    kind: video
    with: {images: corrupt/, aspects: ["64x64"], fps: 5}
  - id: odd_size
    kind: video
    with: {images: good/, aspects: ["65x64"], fps: 5}
  - id: zero_aspect
    kind: video
    with: {images: good/, aspects: ["0:1"], fps: 5}
  - id: corrupt_audio
    kind: video
    with: {images: good/, audio: noise.wav, aspects: ["64x64"], fps: 5}
  - id: no_images
    kind: video
    with: {images: texts/, aspects: ["64x64"], fps: 5}
  - id: fine
    kind: video
    with: {images: good/, aspects: ["64x64"], fps: 5, seconds_per_image: 0.4}
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "video=1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto store = tw.store();
  std::map<std::string, JobRow> by_stage;
  for (const JobRow& j : store->list_jobs({.run_id = 1})) by_stage[j.stage] = j;
  const std::map<std::string, std::string> expect = {
      {"corrupt_image", "broken.png"},
      {"odd_size", "aspects[0]: '65x64': width and height must be even"},
      {"zero_aspect", "aspects[0]: '0:1' is not an aspect"},
      {"corrupt_audio", "video: audio "},
      {"no_images", "images: no images to show"}};
  for (const auto& [stage, text] : expect) {
    const JobRow& j = by_stage.at(stage);
    EXPECT_EQ(j.state, "dead") << stage;  // failed for good: bad input is not retried
    ASSERT_TRUE(j.error.has_value()) << stage;
    EXPECT_NE(j.error->find(text), std::string::npos) << stage << ": " << *j.error;
    // A bad input is not retried.
    EXPECT_EQ(store->attempts(j.id).size(), 1u) << stage;
  }
  EXPECT_EQ(by_stage.at("fine").state, "succeeded") << "the same worker went on";
  // A missing file is a validation error before anything is enqueued.
  auto missing = tw.write_file("missing.yaml", R"(version: 1
name: missing
stages:
  - id: v
    kind: video
    with: {images: nowhere/, aspects: ["64x64"]}
)");
  ProcResult m = run_atelier({"-w", w, "validate", missing.string()});
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_NE(m.err.find("nowhere"), std::string::npos) << m.err;
}

TEST(Video, CancelStopsTheEncodeAndLeavesNoFile) {
  TempWorkspace tw(fast_config());
  for (int i = 0; i < 6; ++i)
    write_solid_png(tw.dir() / "imgs" / (std::to_string(i) + ".png"), 32, 32, 40 * i, 100, 200);
  auto spec = tw.write_file("long.yaml", R"(version: 1
name: long
stages:
  - id: v
    kind: video
    with:
      images: imgs/
      aspects: ["1080x1920"]
      fps: 30
      seconds_per_image: 10
      ken_burns: true
      preset: medium
)");
  const std::string w = tw.dir().string();
  BackgroundProc run({"-w", w, "run", spec.string(), "--workers", "video=1"},
                     (tw.dir() / "run.log").string());
  auto store = tw.store();
  ASSERT_TRUE(wait_until(
      [&] {
        auto jobs = store->list_jobs({.run_id = 1});
        return !jobs.empty() && jobs[0].progress > 0;
      },
      120'000))
      << "the encode never reported progress";
  ProcResult c = run_atelier({"-w", w, "cancel", "j1"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  const int code = run.wait();
  EXPECT_NE(code, 0);
  auto jobs = store->list_jobs({.run_id = 1});
  EXPECT_EQ(jobs[0].state, "cancelled");
  EXPECT_LT(jobs[0].progress, 0.9);
  EXPECT_TRUE(store->list_assets(1).empty());
  if (fs::exists(tw.ws().tmp_dir())) {
    for (const auto& e : fs::directory_iterator(tw.ws().tmp_dir()))
      EXPECT_NE(e.path().filename().string().rfind("atelier-video-", 0), 0u)
          << "left behind: " << e.path();
  }
}
