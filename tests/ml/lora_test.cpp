// LoRA: kohya key names and metadata, alpha/rank scaling, strict loading of
// hostile files, application that leaves a cached model bit-identical, scale 0
// giving the base output, and training that resumes exactly from a checkpoint.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "ml/base_trainer.h"
#include "ml/diffusion_model.h"
#include "ml/generator.h"
#include "ml/lora.h"
#include "ml/lora_trainer.h"
#include "ml/safetensors.h"
#include "ml/tensor_io.h"
#include "support/tiny_model.h"

using namespace atelier::ml;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("atelier-lora-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A LoRA with random (non-zero) up and down matrices for every target.
Lora random_lora(DiffusionModel& m, int rank, double alpha, bool convs, uint64_t seed) {
  LoraNetwork net(m, rank, alpha, convs, seed);
  Lora l = net.to_lora();
  torch::manual_seed(static_cast<int64_t>(seed));
  for (auto& [k, mod] : l.modules) mod.up = torch::randn_like(mod.up) * 0.2;
  return l;
}

std::vector<uint8_t> pixels(DiffusionModel& m, const std::string& prompt) {
  GenerateRequest r;
  r.prompt = prompt;
  r.seed = 5;
  r.steps = 3;
  r.count = 1;
  return generate(m, r).at(0).pixels;
}

std::vector<LoraExample> examples(int n, int size) {
  std::vector<LoraExample> out;
  torch::manual_seed(11);
  for (int i = 0; i < n; ++i)
    out.push_back({torch::rand({3, size, size}) * 2 - 1,
                   i % 2 ? "red apple, fruit" : "grinning face, smiley",
                   "sha" + std::to_string(i)});
  return out;
}

}  // namespace

TEST(Lora, TargetsAreTheAttentionProjectionsUnderKohyaNames) {
  auto dir = temp_dir("keys");
  auto model = load_model(atelier::test::write_tiny_model(dir)).model;
  auto targets = lora_targets(model, false);
  ASSERT_FALSE(targets.empty());
  for (const auto& t : targets) {
    EXPECT_EQ(t.key.rfind("lora_unet_", 0), 0u) << t.key;
    EXPECT_EQ(t.key.find('.'), std::string::npos) << t.key;
    const auto leaf = t.path.substr(t.path.rfind('.') + 1);
    EXPECT_TRUE(leaf == "to_q" || leaf == "to_k" || leaf == "to_v" || leaf == "to_out") << t.path;
    EXPECT_EQ(kohya_key(t.path), t.key);
    EXPECT_FALSE(t.conv);
  }
  EXPECT_EQ(kohya_key("mid1.attn.block.cross_attn.to_q"),
            "lora_unet_mid1_attn_block_cross_attn_to_q");
  auto with_convs = lora_targets(model, true);
  EXPECT_GT(with_convs.size(), targets.size());
  int convs = 0;
  for (const auto& t : with_convs)
    if (t.conv) {
      ++convs;
      EXPECT_EQ(t.weight_shape.size(), 4u);
      EXPECT_EQ(t.weight_shape[2], 3);
    }
  EXPECT_GT(convs, 0);
  fs::remove_all(dir);
}

TEST(Lora, FileRoundTripsInKohyaLayout) {
  auto dir = temp_dir("file");
  auto model = load_model(atelier::test::write_tiny_model(dir)).model;
  Lora l = random_lora(model, 4, 2.0, true, 1);
  l.metadata = {{"ss_network_dim", "4"}, {"ss_network_alpha", "2"}};
  save_lora(dir / "l.safetensors", l);
  auto f = SafetensorsFile::read(dir / "l.safetensors");
  const auto& key = l.modules.begin()->first;
  ASSERT_NE(f.find(key + ".lora_down.weight"), nullptr);
  ASSERT_NE(f.find(key + ".lora_up.weight"), nullptr);
  ASSERT_NE(f.find(key + ".alpha"), nullptr);
  EXPECT_TRUE(f.find(key + ".alpha")->shape.empty());  // a scalar, as kohya writes it
  EXPECT_EQ(f.tensors().size(), 3 * l.modules.size());
  auto back = load_lora(dir / "l.safetensors");
  EXPECT_EQ(back.metadata.at("ss_network_dim"), "4");
  ASSERT_EQ(back.modules.size(), l.modules.size());
  for (const auto& [k, m] : l.modules) {
    EXPECT_TRUE(torch::equal(back.modules.at(k).down, m.down)) << k;
    EXPECT_TRUE(torch::equal(back.modules.at(k).up, m.up)) << k;
    EXPECT_DOUBLE_EQ(back.modules.at(k).alpha, 2.0);
  }
  fs::remove_all(dir);
}

TEST(Lora, DeltaIsMultiplierTimesAlphaOverRankTimesUpDown) {
  LoraModule m{torch::randn({4, 6}), torch::randn({5, 4}), 2.0};
  auto expect = torch::mm(m.up, m.down) * (0.8 * 2.0 / 4.0);
  EXPECT_TRUE(torch::allclose(m.delta(0.8), expect));
  // a conv pair: down (r, in, 3, 3), up (out, r, 1, 1)
  LoraModule c{torch::randn({2, 3, 3, 3}), torch::randn({5, 2, 1, 1}), 1.0};
  auto d = c.delta(1.0);
  EXPECT_EQ(d.sizes(), (std::vector<int64_t>{5, 3, 3, 3}));
  // equals running down then up as convolutions
  auto x = torch::randn({1, 3, 8, 8});
  namespace F = torch::nn::functional;
  auto merged = F::conv2d(x, d, F::Conv2dFuncOptions().padding(1));
  auto two = F::conv2d(F::conv2d(x, c.down, F::Conv2dFuncOptions().padding(1)), c.up) * 0.5;
  EXPECT_TRUE(torch::allclose(merged, two, 1e-4, 1e-5));
}

TEST(Lora, AppliedWeightsAreBasePlusDeltaAndTheBaseIsRestoredBitForBit) {
  auto dir = temp_dir("apply");
  auto model = load_model(atelier::test::write_tiny_model(dir)).model;
  const auto before = pixels(model, "red apple");
  std::map<std::string, torch::Tensor> original;
  for (auto& p : model->named_parameters()) original[p.key()] = p.value().clone();

  Lora a = random_lora(model, 4, 4.0, false, 2);
  Lora b = random_lora(model, 2, 1.0, true, 3);
  auto targets = lora_targets(model, true);
  std::vector<uint8_t> with;
  {
    AppliedLoras applied(model, {{&a, 0.7, "a"}, {&b, -0.3, "b"}});
    EXPECT_EQ(applied.modules(), targets.size());
    for (const auto& t : targets) {
      auto expect = original.at("unet." + t.path + ".weight");
      if (a.modules.count(t.key)) expect = expect + a.modules.at(t.key).delta(0.7);
      expect = expect + b.modules.at(t.key).delta(-0.3);
      EXPECT_TRUE(torch::allclose(*t.weight, expect, 1e-6, 1e-6)) << t.key;
    }
    with = pixels(model, "red apple");
  }
  EXPECT_NE(with, before);
  EXPECT_EQ(pixels(model, "red apple"), before);
  for (auto& p : model->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), original.at(p.key()))) << p.key();
  for (const auto& t : lora_targets(model, true))
    EXPECT_TRUE(torch::equal(*t.weight, original.at("unet." + t.path + ".weight"))) << t.key;
  fs::remove_all(dir);
}

TEST(Lora, ScaleZeroGivesTheBaseOutputExactly) {
  auto dir = temp_dir("zero");
  auto model = load_model(atelier::test::write_tiny_model(dir)).model;
  const auto base = pixels(model, "grinning face");
  Lora a = random_lora(model, 4, 4.0, true, 4);
  AppliedLoras applied(model, {{&a, 0.0, "a"}});
  EXPECT_EQ(pixels(model, "grinning face"), base);
  fs::remove_all(dir);
}

TEST(Lora, HostileOrMismatchedFilesAreRefusedWithTheKeyNamed) {
  auto dir = temp_dir("bad");
  auto model = load_model(atelier::test::write_tiny_model(dir)).model;
  auto targets = lora_targets(model, false);
  const std::string key = targets[0].key;
  const auto out = targets[0].weight_shape[0], in = targets[0].weight_shape[1];
  struct Case {
    std::string name;
    NamedTensors tensors;
    std::string message;
  };
  std::vector<Case> cases = {
      {"stray", {{"something.else", torch::zeros({2})}}, "is not a LoRA tensor"},
      {"te", {{"lora_te_text_model_q.lora_down.weight", torch::zeros({2, 4})}}, "text encoder"},
      {"no_up", {{key + ".lora_down.weight", torch::zeros({2, in})}}, "needs both"},
      {"rank",
       {{key + ".lora_down.weight", torch::zeros({2, in})},
        {key + ".lora_up.weight", torch::zeros({out, 3})}},
       "rank"},
      {"alpha",
       {{key + ".lora_down.weight", torch::zeros({2, in})},
        {key + ".lora_up.weight", torch::zeros({out, 2})},
        {key + ".alpha", torch::tensor(-1.0f)}},
       "alpha must be positive"},
      {"nan",
       {{key + ".lora_down.weight", torch::full({2, in}, NAN)},
        {key + ".lora_up.weight", torch::zeros({out, 2})}},
       "non-finite"},
      {"dims",
       {{key + ".lora_down.weight", torch::zeros({2, in, 3})},
        {key + ".lora_up.weight", torch::zeros({out, 2})}},
       "neither a linear pair"},
  };
  for (const auto& c : cases) {
    auto f = dir / (c.name + ".safetensors");
    save_tensors(f, c.tensors, {});
    try {
      load_lora(f);
      ADD_FAILURE() << c.name << " loaded";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
  // Well-formed, but for another architecture: nothing is applied.
  Lora other;
  other.modules["lora_unet_down_blocks_0_attentions_0_proj_in"] =
      LoraModule{torch::zeros({2, 4}), torch::zeros({4, 2}), 1.0};
  const std::vector<LoraUse> other_use = {{&other, 1.0, "other.safetensors"}};
  EXPECT_THROW(AppliedLoras(model, other_use), std::invalid_argument);
  Lora wrong_shape;
  wrong_shape.modules[key] = LoraModule{torch::zeros({2, in + 1}), torch::zeros({out, 2}), 1.0};
  try {
    AppliedLoras a(model, {{&wrong_shape, 1.0, "w.safetensors"}});
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("w.safetensors: module '" + key + "'"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

TEST(LoraTraining, CaptionsGetTriggerShuffleAndDropout) {
  TrainLoraOptions o;
  o.trigger = "acme";
  o.caption_dropout = 0;
  EXPECT_EQ(lora_caption("red apple, fruit", o, 1), "acme, red apple, fruit");
  EXPECT_EQ(lora_caption("acme, red apple", o, 1), "acme, red apple");
  o.shuffle_tags = true;
  o.keep_tags = 1;
  std::set<std::string> seen;
  for (uint64_t r = 0; r < 40; ++r) {
    auto c = lora_caption("a, b, c, d", o, r);
    EXPECT_EQ(c.rfind("acme, ", 0), 0u) << c;
    seen.insert(c);
  }
  EXPECT_GT(seen.size(), 3u);
  o.caption_dropout = 1;
  EXPECT_EQ(lora_caption("a, b", o, 3), "");
  std::vector<LoraExample> data = {{torch::zeros({3, 2, 2}), "x, y", "1"},
                                   {torch::zeros({3, 2, 2}), "x, z, x", "2"}};
  auto f = tag_frequency(data, o);
  EXPECT_EQ(f["acme"], 2);
  EXPECT_EQ(f["x"], 2);  // once per image
  EXPECT_EQ(f["y"], 1);
}

TEST(LoraTraining, ResumedRunEndsWithTheWeightsOfAnUninterruptedOneAndKohyaMetadata) {
  auto dir = temp_dir("train");
  auto base = atelier::test::write_tiny_model(dir);
  const std::string sha(64, 'a');
  auto data = examples(6, 16);
  TrainLoraOptions o;
  o.rank = 4;
  o.alpha = 2;
  o.steps = 6;
  o.batch = 2;
  o.checkpoint_every = 2;
  o.threads = 1;
  o.seed = 9;
  o.trigger = "acme";
  o.shuffle_tags = true;
  o.convs = true;
  o.output_name = "style";
  o.started_at = 1700000000;

  auto whole = train_lora(base, sha, data, o);
  EXPECT_EQ(whole.resumed_from, 0);

  o.checkpoint_dir = dir / "ckpt";
  int polls = 0;
  EXPECT_THROW(train_lora(base, sha, data, o, {}, [&] { return ++polls == 3; }),
               TrainingInterrupted);
  auto ck = SafetensorsFile::read(o.checkpoint_dir / "checkpoint.safetensors");
  EXPECT_EQ(ck.metadata().at("atelier.checkpoint_step"), "2");
  std::vector<LoraTrainProgress> seen;
  auto resumed =
      train_lora(base, sha, data, o, [&](const LoraTrainProgress& p) { seen.push_back(p); });
  EXPECT_EQ(resumed.resumed_from, 2);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().resumed_from, 2);
  ASSERT_EQ(resumed.lora.modules.size(), whole.lora.modules.size());
  for (const auto& [k, m] : whole.lora.modules) {
    EXPECT_TRUE(torch::equal(resumed.lora.modules.at(k).down, m.down)) << k;
    EXPECT_TRUE(torch::equal(resumed.lora.modules.at(k).up, m.up)) << k;
  }
  // Training moved the adapters off their zero start.
  EXPECT_GT(whole.lora.modules.begin()->second.up.abs().sum().item<double>(), 0);

  const auto& md = resumed.lora.metadata;
  EXPECT_EQ(md.at("ss_network_dim"), "4");
  EXPECT_EQ(md.at("ss_network_alpha"), "2");
  EXPECT_EQ(md.at("ss_max_train_steps"), "6");
  EXPECT_EQ(md.at("ss_num_train_images"), "6");
  EXPECT_EQ(md.at("ss_seed"), "9");
  EXPECT_EQ(md.at("ss_sd_model_hash"), sha.substr(0, 10));
  EXPECT_EQ(md.at("ss_training_started_at"), "1700000000");
  EXPECT_GE(std::stoll(md.at("ss_training_finished_at")), 1700000000);
  EXPECT_NE(md.at("ss_learning_rate"), "");
  auto freq = nlohmann::json::parse(md.at("ss_tag_frequency"));
  EXPECT_EQ(freq["images"]["acme"], 6);
  EXPECT_EQ(freq["images"]["red apple"], 3);
  EXPECT_TRUE(md.count("ss_network_args"));  // conv_dim / conv_alpha

  // The saved file loads back and applies to the base model.
  save_lora(dir / "style.safetensors", resumed.lora);
  auto loaded = load_lora(dir / "style.safetensors");
  auto model = load_model(base).model;
  AppliedLoras applied(model, {{&loaded, 1.0, "style"}});
  EXPECT_GT(applied.modules(), 0u);

  // Other data against the same checkpoint: refused.
  auto other = examples(5, 16);
  EXPECT_THROW(train_lora(base, sha, other, o), std::invalid_argument);
  fs::remove_all(dir);
}
