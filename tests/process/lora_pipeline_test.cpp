// Captioning and LoRA training through the queue with real worker processes and
// tiny models: caption -> train_lora -> generate, with sidecar captions
// respected, odd and corrupt inputs handled, lineage per caption and per LoRA,
// a LoRA applied by ${stage.model} and by <lora:...> without changing what the
// cached base model draws afterwards; and a LoRA job whose worker is killed
// resumes from its checkpoint.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "media/infotext.h"
#include "media/png_io.h"
#include "media/png_meta.h"
#include "ml/safetensors.h"
#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

// Brand images of mixed kinds: RGB, RGBA of another size, gray, a corrupt file,
// and one with a sidecar caption.
void write_brand(const fs::path& dir) {
  fs::create_directories(dir);
  auto img = [](int w, int h, int ch, uint8_t base) {
    media::Image i;
    i.width = w;
    i.height = h;
    i.channels = ch;
    i.pixels.resize(static_cast<size_t>(w) * h * ch);
    for (size_t k = 0; k < i.pixels.size(); ++k) i.pixels[k] = static_cast<uint8_t>(base + k * 7);
    return i;
  };
  media::write_png(dir / "a.png", img(16, 16, 3, 10));
  media::write_png(dir / "b.png", img(24, 12, 4, 60));
  media::write_png(dir / "c.png", img(9, 9, 1, 90));
  media::write_png(dir / "d.png", img(16, 16, 3, 200));
  std::ofstream(dir / "d.txt") << "red apple, hand drawn\n";
  std::ofstream(dir / "broken.png") << "\x89PNG\r\n\x1a\n not really";
}

// The first output asset of a stage's first job.
AssetRow first_output(Store& store, int64_t run, const std::string& stage) {
  return *store.get_asset(store.stage_jobs(run, stage).at(0).outputs.at(0));
}

// The A1111 parameters chunk of a PNG's metadata, parsed.
media::Infotext parameters_of(const media::PngInfo& info) {
  const auto text = media::find_text(info, "parameters");
  EXPECT_TRUE(text.has_value()) << "no parameters chunk";
  return media::parse_infotext(text.value_or(""));
}

}  // namespace

TEST(LoraPipeline, CaptionTrainLoraAndGenerateThroughTheQueue) {
  TempWorkspace tw(fast_config());
  auto base = write_tiny_model(tw.dir() / "models", "tiny");
  write_tiny_captioner(tw.dir() / "models", "tinycap");
  write_brand(tw.dir() / "brand");
  auto spec = tw.write_file("brand.yaml", R"(version: 1
name: brand
stages:
  - id: cap
    kind: caption
    with: {images: brand/, trigger: acme, captioner: tinycap}
  - id: lora
    kind: train_lora
    needs: cap
    with: {images: brand/, model: tiny, name: acme-style, trigger: acme, rank: 2, alpha: 1,
           steps: 4, batch: 2, checkpoint_every: 2, seed: 1}
  - id: before
    kind: generate
    with: {prompt: "red apple", model: tiny, steps: 2, seed: 3}
  - id: styled
    kind: generate
    needs: [lora, before]
    with: {prompt: "acme, red apple", model: tiny, steps: 2, seed: 3,
           loras: [{model: "${lora.model}", scale: 0.8}]}
  - id: after
    kind: generate
    needs: styled
    with: {prompt: "red apple", model: tiny, steps: 2, seed: 3}
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier(
      {"-w", w, "run", spec.string(), "--workers", "caption=1,train_lora=1,generate=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  std::map<std::string, JobRow> job;
  for (const JobRow& j : store->list_jobs({.run_id = 1})) job[j.stage] = j;
  for (const auto& [stage, j] : job) EXPECT_EQ(j.state, "succeeded") << stage;

  // Captions: one per readable image, linked to it; the sidecar wins.
  std::map<std::string, std::string> image_by_name;  // source file name -> sha
  for (const InputRef& in : store->job_inputs(job["cap"].id)) {
    auto a = store->get_asset(in.sha256);
    if (a && a->source_path)
      image_by_name[fs::path(*a->source_path).filename().string()] = in.sha256;
  }
  ASSERT_EQ(image_by_name.size(), 6u);            // five images and the sidecar
  std::map<std::string, std::string> caption_of;  // image sha -> caption
  json listing;
  for (const StageJob& sj : store->stage_jobs(1, "cap"))
    for (const std::string& sha : sj.outputs) {
      auto a = *store->get_asset(sha);
      if (a.media_type == "application/json") {
        listing = json::parse(read_file_text(asset_file(tw, a)));
        continue;
      }
      EXPECT_EQ(a.media_type, "text/plain");
      // Two images with the same caption text share one asset with two sources.
      auto src = store->asset_sources(sha);
      ASSERT_FALSE(src.empty()) << sha;
      for (const InputRef& s : src) {
        EXPECT_EQ(s.role, "image");
        caption_of[s.sha256] = read_file_text(asset_file(tw, a));
      }
    }
  EXPECT_EQ(caption_of.size(), 4u);
  EXPECT_EQ(caption_of[image_by_name["d.png"]], "acme, red apple, hand drawn\n");
  for (const char* n : {"a.png", "b.png", "c.png"}) {
    const auto& c = caption_of[image_by_name[n]];
    EXPECT_EQ(c.rfind("acme, ", 0), 0u) << n << ": " << c;
  }
  ASSERT_EQ(listing["skipped"].size(), 1u) << listing.dump();
  EXPECT_EQ(listing["skipped"][0]["stem"], "broken");

  // The LoRA: kohya layout and metadata, registered, made from images and captions.
  fs::path lora_file;
  json report;
  for (const StageJob& sj : store->stage_jobs(1, "lora"))
    for (const std::string& sha : sj.outputs) {
      auto a = *store->get_asset(sha);
      if (a.ext == "safetensors") lora_file = asset_file(tw, a);
      if (a.ext == "json") report = json::parse(read_file_text(asset_file(tw, a)));
    }
  ASSERT_FALSE(lora_file.empty());
  auto f = ml::SafetensorsFile::read(lora_file);
  for (const auto& t : f.tensors()) EXPECT_EQ(t.name.rfind("lora_unet_", 0), 0u) << t.name;
  EXPECT_EQ(f.metadata().at("ss_network_dim"), "2");
  EXPECT_EQ(f.metadata().at("ss_num_train_images"), "4");
  EXPECT_EQ(f.metadata().at("ss_new_sd_model_hash"), sha256_file(base));
  const std::string lora_sha = sha256_file(lora_file);
  auto row = store->find_model(lora_sha);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->kind, "lora");
  EXPECT_EQ(row->name, "acme-style");
  std::set<std::string> sources;
  int training_images = 0, captions = 0;
  for (const InputRef& s : store->asset_sources(lora_sha)) {
    sources.insert(s.role + ":" + s.sha256);
    training_images += s.role == "training_image";
    captions += s.role == "caption";
  }
  EXPECT_EQ(training_images, 4);
  EXPECT_GE(captions, 1);  // the distinct caption texts of those four
  for (const char* n : {"a.png", "b.png", "c.png", "d.png"})
    EXPECT_TRUE(sources.count("training_image:" + image_by_name[n])) << n;
  EXPECT_EQ(report["images"].size(), 4u);
  EXPECT_EQ(report["skipped"].size(), 1u);
  EXPECT_EQ(report["tag_frequency"]["acme"], 4);

  // Generation with the LoRA differs; without it, before and after agree.
  auto pixels_of = [&](const std::string& stage) {
    auto outs = store->stage_jobs(1, stage).at(0).outputs;
    auto a = *store->get_asset(outs.at(0));
    return media::read_png(asset_file(tw, a), 3).pixels;
  };
  EXPECT_EQ(pixels_of("before"), pixels_of("after"));
  EXPECT_NE(pixels_of("styled"), pixels_of("before"));
  auto styled = first_output(*store, 1, "styled");
  auto info = media::read_png_metadata_file(asset_file(tw, styled));
  auto params = parameters_of(info);
  EXPECT_EQ(params.get("Lora hashes"), "acme-style: " + lora_sha.substr(0, 12));
  auto manifest = json::parse(*media::find_text(info, "atelier"));
  ASSERT_EQ(manifest["models"].size(), 2u);
  EXPECT_EQ(manifest["models"][1]["role"], "lora");
  EXPECT_EQ(manifest["models"][1]["sha256"], lora_sha);
  EXPECT_EQ(manifest["models"][1]["scale"], 0.8);
  bool lora_input = false;
  for (const InputRef& in : store->job_inputs(job["styled"].id))
    lora_input |= in.sha256 == lora_sha && in.role == "lora";
  EXPECT_TRUE(lora_input);
}

TEST(LoraPipeline, PromptSyntaxAppliesARegisteredLoraAndBadTagsFailOnlyTheirJob) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  write_brand(tw.dir() / "brand");
  auto train = tw.write_file("train.yaml", R"(version: 1
name: train
stages:
  - id: lora
    kind: train_lora
    with: {images: brand/, model: tiny, name: acme-style, rank: 2, steps: 2, batch: 2}
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier({"-w", w, "run", train.string(), "--workers", "train_lora=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto use = tw.write_file("use.yaml", R"(version: 1
name: use
stages:
  - id: plain
    kind: generate
    with: {prompt: "red apple", model: tiny, steps: 2, seed: 4}
  - id: tagged
    kind: generate
    with: {prompt: "red apple <lora:acme-style:0.6>", model: tiny, steps: 2, seed: 4}
  - id: badtag
    kind: generate
    with: {prompt: "red apple <lora:acme-style:lots>", model: tiny, steps: 2}
  - id: nolora
    kind: generate
    with: {prompt: "red apple <lora:nowhere>", model: tiny, steps: 2}
)");
  r = run_atelier({"-w", w, "run", use.string(), "--workers", "generate=1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto store = tw.store();
  std::map<std::string, JobRow> job;
  for (const JobRow& j : store->list_jobs({.run_id = 2})) job[j.stage] = j;
  EXPECT_EQ(job["plain"].state, "succeeded");
  EXPECT_EQ(job["tagged"].state, "succeeded");
  EXPECT_EQ(job["badtag"].state, "dead");
  EXPECT_NE(job["badtag"].error.value_or("").find("'lots' is not a number"), std::string::npos)
      << job["badtag"].error.value_or("");
  EXPECT_EQ(job["nolora"].state, "dead");
  EXPECT_NE(job["nolora"].error.value_or("").find("'nowhere' not found"), std::string::npos)
      << job["nolora"].error.value_or("");
  auto tagged = first_output(*store, 2, "tagged");
  auto info = media::read_png_metadata_file(asset_file(tw, tagged));
  auto params = parameters_of(info);
  EXPECT_EQ(params.prompt, "red apple");
  ASSERT_TRUE(params.get("Lora hashes").has_value());
  auto plain = first_output(*store, 2, "plain");
  EXPECT_NE(media::read_png(asset_file(tw, tagged), 3).pixels,
            media::read_png(asset_file(tw, plain), 3).pixels);
}

TEST(LoraPipeline, AKilledTrainingJobResumesFromItsCheckpoint) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  write_brand(tw.dir() / "brand");
  auto spec = tw.write_file("long.yaml", R"(version: 1
name: long
stages:
  - id: lora
    kind: train_lora
    with: {images: brand/, model: tiny, name: long, rank: 2, steps: 300, batch: 2,
           checkpoint_every: 1}
)");
  const std::string w = tw.dir().string();
  auto store = tw.store();
  const auto ckpt = tw.dir() / "checkpoints" / "j1" / "checkpoint.safetensors";
  {
    BackgroundProc run({"-w", w, "run", spec.string(), "--workers", "train_lora=1"},
                       (tw.dir() / "run.log").string());
    ASSERT_TRUE(wait_until([&] { return fs::exists(ckpt); }));
    auto workers = child_pids(run.pid());
    ASSERT_EQ(workers.size(), 1u);
    ::kill(workers[0], SIGKILL);
    EXPECT_EQ(run.wait(), 0);
  }
  EXPECT_EQ(store->get_job(1)->state, "succeeded");
  EXPECT_EQ(outcomes_by_job(*store, 1)[1], (std::vector<std::string>{"crashed", "succeeded"}));
  json report;
  const auto lora_jobs = store->stage_jobs(1, "lora");
  for (const std::string& sha : lora_jobs.at(0).outputs) {
    auto a = *store->get_asset(sha);
    if (a.ext == "json") report = json::parse(read_file_text(asset_file(tw, a)));
  }
  EXPECT_GT(report["resumed_from"].get<int>(), 0) << report.dump();
  EXPECT_EQ(report["steps"], 300);
}
