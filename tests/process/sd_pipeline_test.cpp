// Stable Diffusion checkpoints through the queue with real worker processes,
// on random-weight checkpoints written at test time (tests/sd/tiny_checkpoint.h)
// with a CLIP-style test tokenizer beside them: `atelier model add` registers a
// file by reference, a generate -> check -> video run draws with it, the
// PNGs' infotext reads as AUTOMATIC1111 writes it, provenance traces the video
// back to the checkpoint's sha256, `verify --regenerate` redraws identical
// pixels, and a bad checkpoint fails only its own job, naming the file.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "media/infotext.h"
#include "media/png_meta.h"
#include "ml/safetensors.h"
#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "sd/tiny_checkpoint.h"
#include "sd/tiny_lora.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// models/tiny-sd.safetensors with models/tokenizer/ beside it.
fs::path write_tiny_sd(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path file = dir / "tiny-sd.safetensors";
  sd::write_sd_checkpoint(file, sd::tiny(sd::TinyFamily::sd1), 7);
  sd::write_test_tokenizer(dir / "tokenizer", 1000);
  return file;
}

}  // namespace

TEST(SdPipeline, GenerateCheckAndVideoTraceBackToTheCheckpoint) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  const fs::path ckpt = write_tiny_sd(tw.dir() / "models");
  const std::string sha = sha256_file(ckpt);
  // A kohya LoRA (attention, text encoder and LoCon convolutions) for it.
  const fs::path lora = tw.dir() / "models" / "brand-style.safetensors";
  sd::write_kohya_lora(lora, sd::kohya_lora_modules(sd::tiny(sd::TinyFamily::sd1), {.convs = true}),
                       3, ml::DType::F16, {{"ss_output_name", "brand-style"}});
  const std::string lora_sha = sha256_file(lora);

  ProcResult r =
      run_atelier({"-w", w, "--json", "model", "add", ckpt.string(), "--name", "tiny-sd"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json added = json::parse(r.out);
  EXPECT_EQ(added["name"], "tiny-sd");
  EXPECT_EQ(added["sha256"], sha);
  EXPECT_EQ(added["short_hash"], sha.substr(0, 10));
  EXPECT_EQ(added["arch"], "SD 1.x");
  EXPECT_EQ(added["prediction"], "epsilon");
  EXPECT_EQ(added["path"], ckpt.string());
  r = run_atelier({"-w", w, "--json", "model", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at(0)["sha256"], sha);
  r = run_atelier({"-w", w, "--json", "model", "add", lora.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["kind"], "lora");
  EXPECT_EQ(json::parse(r.out)["arch"], "SD 1.x/2.x");  // tiny text layers: no width to tell

  auto spec = tw.write_file("sd.yaml", R"(version: 1
name: sd
stages:
  - id: shots
    kind: generate
    with: {prompt: "a (red:1.2) bicycle, studio photo <lora:brand-style:0.8>", negative: blurry,
           model: tiny-sd, size: 64x48, count: 2, steps: 3, sampler: DPM++ 2M Karras, cfg: 6,
           clip_skip: 2, seed: 5}
  - id: vet
    kind: check
    needs: shots
    with: {bias: true, copyright: {registry: false, training: off}}
  - id: clip
    kind: video
    needs: vet
    with: {aspects: ["64x64"], fps: 10, seconds_per_image: 1}
  - id: redraw
    kind: generate
    for_each: shots
    with: {prompt: "a blue bicycle", model: tiny-sd, strength: 0.5, steps: 4, seed: 9}
)");
  r = run_atelier({"-w", w, "run", spec.string(), "--workers", "generate=1,check=1,video=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  const auto shots = store->stage_jobs(1, "shots").at(0).outputs;
  ASSERT_EQ(shots.size(), 2u);
  const AssetStore assets(tw.ws().assets_dir(), tw.ws().tmp_dir());
  const fs::path png = assets.path_for(shots[0], "png");
  auto info = media::read_png_metadata_file(png);
  EXPECT_EQ(info.width, 64);
  EXPECT_EQ(info.height, 48);
  auto text = media::find_text(info, "parameters");
  ASSERT_TRUE(text.has_value());
  auto it = media::parse_infotext(*text);
  EXPECT_EQ(it.prompt, "a (red:1.2) bicycle, studio photo");
  EXPECT_EQ(it.get("Model hash"), sha.substr(0, 10)) << *text;
  EXPECT_EQ(it.get("Model"), "tiny-sd");
  EXPECT_EQ(it.get("Sampler"), "DPM++ 2M Karras");
  EXPECT_EQ(it.get("Clip skip"), "2");
  EXPECT_EQ(it.get("Size"), "64x48");
  // A1111's LoRA hash: the sha256 of the tensor data after the header.
  const std::string addnet = [&] {
    const auto bytes = [&] {
      std::ifstream in(lora, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    return sha256_hex(std::string_view(bytes).substr(8 + n)).substr(0, 12);
  }();
  EXPECT_EQ(it.get("Lora hashes"), "brand-style: " + addnet) << *text;
  bool lora_input = false;
  for (const InputRef& in : store->job_inputs(store->stage_jobs(1, "shots").at(0).id))
    lora_input = lora_input || (in.sha256 == lora_sha && in.role == "lora");
  EXPECT_TRUE(lora_input);
  auto row = store->find_model(sha);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->params.value("arch", ""), "SD 1.x");

  // img2img from each image: its size, A1111's "Denoising strength", and the
  // image it started from in its lineage.
  const auto redraws = store->stage_jobs(1, "redraw");
  ASSERT_EQ(redraws.size(), 2u);
  for (const auto& j : redraws) {
    ASSERT_EQ(j.outputs.size(), 1u);
    auto ri = media::read_png_metadata_file(assets.path_for(j.outputs[0], "png"));
    EXPECT_EQ(ri.width, 64);
    EXPECT_EQ(ri.height, 48);
    auto rt = media::parse_infotext(*media::find_text(ri, "parameters"));
    EXPECT_EQ(rt.get("Denoising strength"), "0.5");
    bool from_shot = false;
    for (const InputRef& in : store->job_inputs(j.id))
      from_shot = from_shot || in.sha256 == shots[0] || in.sha256 == shots[1];
    EXPECT_TRUE(from_shot);
  }
  // An img2img image is redrawn from the stored image it started from.
  r = run_atelier(
      {"-w", w, "verify", assets.path_for(redraws[0].outputs[0], "png").string(), "--regenerate"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok   regenerate: identical pixels"), std::string::npos) << r.out;

  // The video traces back through the check and the images to the checkpoint.
  const std::string video = store->stage_jobs(1, "clip").at(0).outputs.at(0);
  r = run_atelier({"-w", w, "--json", "provenance", video});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(sha), std::string::npos) << r.out;

  r = run_atelier({"-w", w, "verify", png.string(), "--regenerate"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok   regenerate: identical pixels"), std::string::npos) << r.out;
}

TEST(SdPipeline, ABadCheckpointFailsOnlyItsOwnJobNamingTheFile) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  const fs::path ckpt = write_tiny_sd(tw.dir() / "models");
  std::ofstream(tw.dir() / "models" / "old.ckpt") << "PK\x03\x04 a zip of pickles";
  // The same checkpoint cut short, and one in a folder with no tokenizer.
  fs::create_directories(tw.dir() / "cut");
  fs::copy_file(ckpt, tw.dir() / "cut" / "cut.safetensors");
  fs::resize_file(tw.dir() / "cut" / "cut.safetensors", fs::file_size(ckpt) - 100);
  fs::create_directories(tw.dir() / "alone");
  fs::copy_file(ckpt, tw.dir() / "alone" / "alone.safetensors");
  auto spec = tw.write_file("bad.yaml",
                            "version: 1\nname: bad\nstages:\n"
                            "  - id: good\n    kind: generate\n"
                            "    with: {prompt: cat, model: " +
                                ckpt.string() +
                                ", size: 32, steps: 2}\n"
                                "  - id: pickle\n    kind: generate\n"
                                "    with: {prompt: cat, model: " +
                                (tw.dir() / "models" / "old.ckpt").string() +
                                ", size: 32, steps: 2}\n"
                                "  - id: cut\n    kind: generate\n"
                                "    with: {prompt: cat, model: " +
                                (tw.dir() / "cut" / "cut.safetensors").string() +
                                ", size: 32, steps: 2}\n"
                                "  - id: alone\n    kind: generate\n"
                                "    with: {prompt: cat, model: " +
                                (tw.dir() / "alone" / "alone.safetensors").string() +
                                ", size: 32, steps: 2}\n");
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "generate=1"});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  std::map<std::string, JobRow> by_stage;
  for (const JobRow& j : store->list_jobs({.run_id = 1})) by_stage[j.stage] = j;
  EXPECT_EQ(by_stage["good"].state, "succeeded");
  // Bad input is not retried: each is dead after its first attempt.
  for (const char* s : {"pickle", "cut", "alone"}) EXPECT_EQ(by_stage[s].state, "dead") << s;
  auto error = [&](const char* s) { return by_stage[s].error.value_or(""); };
  EXPECT_NE(error("pickle").find("old.ckpt: a pickle checkpoint is refused"), std::string::npos)
      << error("pickle");
  EXPECT_NE(error("cut").find("cut.safetensors"), std::string::npos) << error("cut");
  EXPECT_NE(error("cut").find("truncated"), std::string::npos) << error("cut");
  EXPECT_NE(error("alone").find("param 'tokenizer'"), std::string::npos) << error("alone");
  for (const char* s : {"pickle", "cut", "alone"}) EXPECT_EQ(by_stage[s].attempt, 1) << s;
}
