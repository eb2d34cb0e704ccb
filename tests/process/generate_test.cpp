// `generate` jobs through the queue with real worker processes: PNG assets whose
// `parameters` chunk parses by AUTOMATIC1111's infotext rules, the model
// registered by sha256 and recorded as the job's input, identical pixels and
// parameters for the same request, and bad params refused at validation or
// failing only their own job while the worker carries on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "media/infotext.h"
#include "media/png_io.h"
#include "media/png_meta.h"
#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

using namespace atelier;
using namespace atelier::test;

TEST(Generate, JobsWritePngsWithA1111ParametersAndRecordTheModel) {
  TempWorkspace tw(fast_config());
  auto model = write_tiny_model(tw.dir() / "models", "tiny");
  auto spec = tw.write_file("gen.yaml", R"(version: 1
name: gen
stages:
  - id: art
    kind: generate
    matrix: {fruit: [red apple, grinning face]}
    with:
      prompt: "{fruit}, flat icon"
      negative: "flag, blurry"
      model: tiny
      count: 2
      seed: 11
      steps: 3
      sampler: Euler a
      cfg: 4.5
  - id: again
    kind: generate
    with: {prompt: "red apple, flat icon", negative: "flag, blurry", model: tiny, count: 1,
           seed: 11, steps: 3, sampler: Euler a, cfg: 4.5}
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "generate=2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  auto assets = store->list_assets(1);
  // 2 x 2 from art, 1 from again (its pixels repeat one of art's, but its
  // manifest names another job, so it is a file of its own)
  ASSERT_EQ(assets.size(), 5u);
  const std::string sha = sha256_file(model);
  auto row = store->find_model(sha);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->name, "tiny");
  ASSERT_TRUE(row->path.has_value());
  EXPECT_TRUE(std::filesystem::equivalent(*row->path, model));

  std::map<std::string, std::vector<uint8_t>> pixels_by_seed_prompt;
  std::map<std::string, std::string> params_by_seed_prompt;
  int checked = 0;
  for (const JobRow& j : store->list_jobs({.run_id = 1})) {
    if (j.kind != "generate") continue;
    bool model_input = false;
    for (const InputRef& in : store->job_inputs(j.id))
      if (in.sha256 == sha && in.role == "model") model_input = true;
    EXPECT_TRUE(model_input) << "job " << j.id;
  }
  for (const AssetRow& a : store->list_assets(1)) {
    EXPECT_EQ(a.media_type, "image/png");
    auto file = asset_file(tw, a);
    auto info = media::read_png_metadata_file(file);
    EXPECT_EQ(info.width, 16);
    auto text = media::find_text(info, "parameters");
    ASSERT_TRUE(text.has_value());
    auto it = media::parse_infotext(*text);
    EXPECT_NE(it.prompt.find(", flat icon"), std::string::npos) << *text;
    EXPECT_EQ(it.negative_prompt, "flag, blurry");
    EXPECT_EQ(it.get("Steps"), "3");
    EXPECT_EQ(it.get("Sampler"), "Euler a");
    EXPECT_EQ(it.get("CFG scale"), "4.5");
    EXPECT_EQ(it.get("Size"), "16x16");
    EXPECT_EQ(it.get("Model hash"), sha.substr(0, 10));
    EXPECT_EQ(it.get("Model"), "tiny");
    auto seed = it.get("Seed");
    ASSERT_TRUE(seed == "11" || seed == "12") << *text;
    auto manifest = json::parse(*media::find_text(info, "atelier"));
    EXPECT_EQ(manifest["models"][0]["sha256"], sha);
    EXPECT_EQ(manifest["digital_source_type"],
              "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia");
    auto img = media::read_png(file, 3);
    const std::string key = it.prompt + "#" + *seed;
    if (pixels_by_seed_prompt.count(key)) {
      // The same image asked for in another job, in a batch of another size: the
      // same parameters chunk, and the same pixels up to the last bit of rounding
      // (ml/generator.h: batched kernels may round differently per batch size).
      const auto& before = pixels_by_seed_prompt[key];
      ASSERT_EQ(before.size(), img.pixels.size());
      int maxdiff = 0;
      for (size_t i = 0; i < before.size(); ++i)
        maxdiff = std::max(maxdiff, std::abs(int(before[i]) - int(img.pixels[i])));
      EXPECT_LE(maxdiff, 1) << key;
      EXPECT_EQ(params_by_seed_prompt[key], *text);
      ++checked;
    }
    pixels_by_seed_prompt[key] = img.pixels;
    params_by_seed_prompt[key] = *text;
  }
  EXPECT_EQ(checked, 1);  // `again` repeats art's red apple at seed 11
  EXPECT_NE(pixels_by_seed_prompt["red apple, flat icon#11"],
            pixels_by_seed_prompt["red apple, flat icon#12"]);
}

TEST(Generate, BadParamsAreRefusedBeforeEnqueueing) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  struct Case {
    std::string with, message;
  };
  for (const Case& c : std::vector<Case>{
           {"sampler: PLMS", "param 'sampler': unknown value \"PLMS\" (known: DDIM, Euler"},
           {"steps: 0", "param 'steps' must be in 1..1000, got 0"},
           {"cfg: -1", "param 'cfg' must be in 0..50, got -1"},
           {"count: 0", "param 'count' must be in 1..1000, got 0"}}) {
    auto spec = tw.write_file("bad.yaml",
                              "version: 1\nname: bad\nstages:\n  - id: art\n    kind: "
                              "generate\n    with: {prompt: apple, " +
                                  c.with + "}\n");
    ProcResult r = run_atelier({"-w", w, "submit", spec.string()});
    EXPECT_EQ(r.exit_code, 2) << c.with;
    EXPECT_NE(r.err.find("bad.yaml:6:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(tw.store()->latest_run().has_value());
}

TEST(Generate, AMissingModelOrUnsupportedSizeFailsOnlyItsJob) {
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  auto spec = tw.write_file("mixed.yaml", R"(version: 1
name: mixed
stages:
  - id: missing
    kind: generate
    with: {prompt: apple, model: no-such-model, steps: 2}
  - id: badsize
    kind: generate
    with: {prompt: apple, model: tiny, steps: 2, size: 33}
  - id: fine
    kind: generate
    with: {prompt: apple, model: tiny, steps: 2, size: "32x32"}
)");
  const std::string w = tw.dir().string();
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "generate=1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // the run failed: two of its jobs did
  auto store = tw.store();
  std::map<std::string, JobRow> by_stage;
  for (const JobRow& j : store->list_jobs({.run_id = 1})) by_stage[j.stage] = j;
  EXPECT_EQ(by_stage["missing"].state, "dead");
  EXPECT_NE(by_stage["missing"].error.value_or("").find("model 'no-such-model' not found"),
            std::string::npos)
      << by_stage["missing"].error.value_or("");
  EXPECT_EQ(by_stage["badsize"].state, "dead");
  EXPECT_NE(by_stage["badsize"].error.value_or("").find("size: 33 is not supported"),
            std::string::npos)
      << by_stage["badsize"].error.value_or("");
  EXPECT_EQ(by_stage["fine"].state, "succeeded");
  // Bad input is not retried, and the same worker served all three jobs.
  std::set<std::string> workers;
  for (const AttemptRow& a : store->all_attempts(1)) {
    if (a.outcome == "released") continue;
    workers.insert(a.worker_id);
  }
  EXPECT_EQ(outcomes_by_job(*store, 1)[by_stage["missing"].id],
            std::vector<std::string>{"invalid"});
  EXPECT_EQ(workers.size(), 1u);
  auto assets = store->list_assets(1);
  ASSERT_EQ(assets.size(), 1u);
  EXPECT_EQ(media::read_png(asset_file(tw, assets[0]), 3).width, 32);
}
