// Base-model training on the real Twemoji set with a tiny config: a run that is
// interrupted and resumed from its checkpoint ends with exactly the weights of
// an uninterrupted run, and a checkpoint made with other settings is refused;
// bfloat16 convolutions (where the CPU has them) train and are scoped.
// Needs the datasets (scripts/fetch_datasets.sh, run by scripts/test.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "ml/base_trainer.h"
#include "ml/conv_precision.h"
#include "ml/diffusion_model.h"
#include "ml/emoji_dataset.h"
#include "ml/safetensors.h"

using namespace atelier::ml;
namespace fs = std::filesystem;

namespace {
TrainBaseOptions tiny(const fs::path& dir, const std::string& name) {
  TrainBaseOptions o;
  o.config.channels = {8, 16};
  o.config.attention = {false, true};
  o.config.self_attention = {false, true};
  o.config.heads = 2;
  o.config.time_dim = 16;
  o.config.text_dim = 16;
  o.config.text_heads = 2;
  o.config.text_layers = 1;
  o.config.max_tokens = 8;
  o.steps = 4;
  o.batch = 2;
  o.checkpoint_every = 2;
  o.limit_images = 12;
  o.threads = 1;
  o.seed = 3;
  o.output = dir / (name + ".safetensors");
  o.checkpoint_dir = dir / (name + ".ckpt");
  return o;
}
}  // namespace

TEST(TrainBase, ResumedRunEndsWithTheWeightsOfAnUninterruptedOne) {
  ASSERT_TRUE(fs::exists(emoji_package_dir("twitter") / "emoji.json"))
      << "datasets missing: run scripts/fetch_datasets.sh";
  auto dir = fs::temp_directory_path() / ("atelier-train-" + std::to_string(::getpid()));
  fs::remove_all(dir);

  auto whole = train_base(tiny(dir, "whole"), {});
  EXPECT_EQ(whole.steps, 4);
  EXPECT_EQ(whole.images, 12);

  auto o = tiny(dir, "resumed");
  int polls = 0;
  EXPECT_THROW(train_base(o, {}, [&] { return ++polls == 3; }), TrainingInterrupted);
  ASSERT_TRUE(fs::exists(o.checkpoint_dir / "checkpoint.safetensors"));
  auto ck = SafetensorsFile::read(o.checkpoint_dir / "checkpoint.safetensors");
  EXPECT_EQ(ck.metadata().at("atelier.checkpoint_step"), "2");
  EXPECT_FALSE(fs::exists(o.output));

  std::vector<TrainProgress> seen;
  train_base(o, [&](const TrainProgress& p) { seen.push_back(p); });
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen.front().resumed);
  EXPECT_EQ(seen.front().step, 3);  // the first step after the checkpoint

  auto a = load_model(dir / "whole.safetensors");
  auto b = load_model(dir / "resumed.safetensors");
  auto pb = b.model->named_parameters();
  for (const auto& p : a.model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  EXPECT_EQ(a.metadata.at("atelier.training_images"), "12");
  EXPECT_TRUE(fs::exists(dir / "whole.training.json"));

  // Other settings against the same checkpoint: refused, nothing overwritten.
  auto changed = tiny(dir, "resumed");
  changed.lr = 0.5;
  try {
    train_base(changed, {});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("made with different settings"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(ConvPrecision, Bf16ConvolutionsAreScopedCloseToFloatAndTrainFloatWeights) {
  torch::manual_seed(1);
  torch::nn::Conv2d c(torch::nn::Conv2dOptions(8, 16, 3).stride(2).padding(1));
  auto x = torch::randn({2, 8, 9, 9});
  auto want = c(x);
  EXPECT_FALSE(BF16Convolutions::active());
  {
    const BF16Convolutions on(true);
    EXPECT_TRUE(BF16Convolutions::active());
    {
      const BF16Convolutions off(false);  // nested scopes restore the outer setting
      EXPECT_TRUE(torch::equal(convolve(c, x), want));
    }
    EXPECT_TRUE(BF16Convolutions::active());
    auto got = convolve(c, x);
    EXPECT_EQ(got.scalar_type(), torch::kFloat32);
    EXPECT_EQ(got.sizes(), want.sizes());
    // bfloat16 keeps 8 significant bits: about 1% of the output's scale.
    EXPECT_LT((got - want).abs().max().item<double>(), 0.05 * want.abs().max().item<double>());
    got.sum().backward();
  }
  EXPECT_FALSE(BF16Convolutions::active());
  ASSERT_TRUE(c->weight.grad().defined());
  EXPECT_EQ(c->weight.grad().scalar_type(), torch::kFloat32);
  EXPECT_GT(c->weight.grad().abs().sum().item<double>(), 0);
}

TEST(TrainBase, Bf16ConvolutionsTrainWhereTheCpuHasThemAndAreRefusedElsewhere) {
  ASSERT_TRUE(fs::exists(emoji_package_dir("twitter") / "emoji.json"))
      << "datasets missing: run scripts/fetch_datasets.sh";
  auto dir = fs::temp_directory_path() / ("atelier-train-bf16-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto o = tiny(dir, "bf16");
  o.bf16_convs = true;
  if (!cpu_has_native_bf16()) {
    try {
      train_base(o, {});
      FAIL() << "trained without AVX-512 BF16";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("AVX-512 BF16"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(o.checkpoint_dir));
    fs::remove_all(dir);
    return;
  }
  auto r = train_base(o, {});
  EXPECT_EQ(r.steps, 4);
  EXPECT_TRUE(std::isfinite(r.final_loss));
  auto m = load_model(o.output);
  EXPECT_NE(m.metadata.at("atelier.training_settings").find("\"bf16_convs\":true"),
            std::string::npos);
  // A float run cannot take over its checkpoint.
  auto f = tiny(dir, "bf16");
  try {
    train_base(f, {});
    FAIL() << "a float run resumed a bf16 checkpoint";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("made with different settings"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(EmojiDataset, HeldOutSplitKeepsSkinToneVariantsWithTheirBase) {
  auto recs = load_emoji_records(emoji_package_dir("twitter"), "twitter");
  EXPECT_EQ(recs.size(), 3781u);  // 3,786 images less the 5 skin-tone swatches
  std::map<std::string, bool> held;
  size_t held_bases = 0;
  for (const auto& r : recs) {
    auto [it, fresh] = held.emplace(r.base, r.held_out);
    if (fresh && r.held_out) ++held_bases;
    EXPECT_EQ(it->second, r.held_out) << r.unified;
    EXPECT_GE(category_index(r.category), 0);
  }
  EXPECT_GE(held_bases, 100u);
  auto wave = std::find_if(recs.begin(), recs.end(),
                           [](const EmojiRecord& r) { return r.unified == "1F44B-1F3FD"; });
  ASSERT_NE(wave, recs.end());
  EXPECT_EQ(wave->name, "waving hand sign: medium skin tone");
  EXPECT_EQ(wave->category, "People & Body");
}
