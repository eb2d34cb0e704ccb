// Kohya LoRAs on SD checkpoints: the key table for the full-size layouts,
// merges against an independent Python reference, exact restore, refused
// input, and the addnet hash.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "ml/sd/lora_hash.h"
#include "ml/sd/lora_key_map.h"
#include "ml/sd/sd_lora.h"
#include "ml/sd/sd_model.h"
#include "sd_refs.h"
#include "tiny_checkpoint.h"
#include "tiny_lora.h"

namespace atelier::test::sd {
namespace {

using ml::sd::AppliedSdLoras;
using ml::sd::LoraKeyMap;
using ml::sd::LoraTargetKind;
using ml::sd::SdLora;
using ml::sd::SdModel;
using ml::sd::WeightError;

constexpr const char* kUnet = "model.diffusion_model.";

SdModel full_size_model(TinyFamily f) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (auto& [name, shape] : sd_checkpoint_shapes(full_size(f))) shapes.emplace(name, shape);
  ml::sd::Weights w = ml::sd::Weights::from_shapes(shapes, "full size");
  return ml::sd::build_sd_model(w, {});
}

struct Counts {
  size_t transformer = 0, resnet_and_samplers = 0, other_unet = 0, ldm_named = 0;
  std::map<std::string, size_t> text;  // by prefix
};

Counts count(const LoraKeyMap& map) {
  Counts c;
  const std::regex transformer("lora_unet_(down_blocks|mid_block|up_blocks)_.*attentions_.*");
  const std::regex conv("lora_unet_(down_blocks|mid_block|up_blocks)_.*(resnets|samplers)_.*");
  const std::regex ldm(
      "lora_unet_(input_blocks|middle_block|output_blocks|time_embed|label_emb|"
      "out)_.*");
  for (const auto& [key, target] : map) {
    if (std::regex_match(key, transformer))
      ++c.transformer;
    else if (std::regex_match(key, conv))
      ++c.resnet_and_samplers;
    else if (std::regex_match(key, ldm))
      ++c.ldm_named;
    else if (key.rfind("lora_unet_", 0) == 0)
      ++c.other_unet;
    else
      ++c.text[key.substr(0, key.find('_', 5) + 1)];
  }
  return c;
}

// Every target is a parameter the model took, of the rank its kind implies.
void expect_targets_taken(const LoraKeyMap& map, const SdModel& m) {
  for (const auto& [key, t] : map) {
    auto it = m.params.find(t.tensor);
    ASSERT_NE(it, m.params.end()) << key << " -> " << t.tensor;
    const auto s = it->second.sizes();
    const size_t rank = t.kind == LoraTargetKind::conv ? 4 : 2;
    EXPECT_EQ(s.size(), rank) << key;
    if (t.kind == LoraTargetKind::qkv_part) {
      EXPECT_EQ(s[0], 3 * s[1]) << key;
    }
  }
}

struct Pair {
  std::string key, tensor;
  LoraTargetKind kind = LoraTargetKind::linear;
  int part = 0;
};

void expect_pairs(const LoraKeyMap& map, const std::vector<Pair>& pairs,
                  const std::vector<std::string>& absent) {
  for (const Pair& p : pairs) {
    auto it = map.find(p.key);
    ASSERT_NE(it, map.end()) << p.key;
    const std::string expected =
        p.tensor.rfind("model.diffusion_model.", 0) == 0 || p.tensor.rfind("cond", 0) == 0
            ? p.tensor
            : kUnet + p.tensor;
    EXPECT_EQ(it->second.tensor, expected) << p.key;
    EXPECT_EQ(int(it->second.kind), int(p.kind)) << p.key;
    EXPECT_EQ(it->second.part, p.part) << p.key;
  }
  for (const std::string& key : absent) EXPECT_FALSE(map.count(key)) << key;
}

void expect_in_inventory(const LoraKeyMap& map, const char* file) {
  if (!have_layouts()) return;
  std::set<std::string> params;
  for (const InventoryRow& r : read_inventory(layouts_dir() / file))
    if (r.kind == "param") params.insert(r.name);
  for (const auto& [key, t] : map) EXPECT_TRUE(params.count(t.tensor)) << file << ": " << t.tensor;
}

constexpr auto kConv = LoraTargetKind::conv;
constexpr auto kQkv = LoraTargetKind::qkv_part;
constexpr auto kLinear = LoraTargetKind::linear;

// SD 1.5: 16 SpatialTransformers of depth 1, 12 modules each = 192 (what
// kohya trains on the UNet); LoCon adds 22 ResBlocks x (conv1, conv2,
// time_emb_proj) + 14 conv_shortcuts + 6 samplers = 86; 12 CLIP-L layers x 6 = 72.
TEST(SdLoraKeyMap, Sd15FullSize) {
  const SdModel m = full_size_model(TinyFamily::sd1);
  const LoraKeyMap map = ml::sd::lora_key_map(m);
  expect_targets_taken(map, m);
  expect_in_inventory(map, "sd15.json");
  const Counts c = count(map);
  EXPECT_EQ(c.transformer, 192u);
  EXPECT_EQ(c.resnet_and_samplers, 86u);
  EXPECT_EQ(c.other_unet, 4u);  // conv_in, conv_out, time_embedding.linear_1/2
  EXPECT_EQ(c.ldm_named, 192u + 86u + 4u);
  EXPECT_EQ(c.text, (std::map<std::string, size_t>{{"lora_te_", 72}}));
  expect_pairs(
      map,
      {{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
        "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight"},
       {"lora_unet_down_blocks_0_attentions_1_proj_in", "input_blocks.2.1.proj_in.weight", kConv},
       {"lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k",
        "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight"},
       {"lora_unet_down_blocks_2_attentions_1_transformer_blocks_0_ff_net_0_proj",
        "input_blocks.8.1.transformer_blocks.0.ff.net.0.proj.weight"},
       {"lora_unet_mid_block_attentions_0_proj_out", "middle_block.1.proj_out.weight", kConv},
       {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_v",
        "middle_block.1.transformer_blocks.0.attn2.to_v.weight"},
       {"lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn1_to_out_0",
        "output_blocks.3.1.transformer_blocks.0.attn1.to_out.0.weight"},
       {"lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_2",
        "output_blocks.11.1.transformer_blocks.0.ff.net.2.weight"},
       {"lora_unet_up_blocks_2_attentions_1_proj_in", "output_blocks.7.1.proj_in.weight", kConv},
       {"lora_unet_down_blocks_0_resnets_0_conv1", "input_blocks.1.0.in_layers.2.weight", kConv},
       {"lora_unet_down_blocks_1_resnets_0_conv_shortcut",
        "input_blocks.4.0.skip_connection.weight", kConv},
       {"lora_unet_down_blocks_3_resnets_1_time_emb_proj", "input_blocks.11.0.emb_layers.1.weight"},
       {"lora_unet_down_blocks_2_downsamplers_0_conv", "input_blocks.9.0.op.weight", kConv},
       {"lora_unet_mid_block_resnets_1_conv2", "middle_block.2.out_layers.3.weight", kConv},
       {"lora_unet_up_blocks_0_upsamplers_0_conv", "output_blocks.2.1.conv.weight", kConv},
       {"lora_unet_up_blocks_1_upsamplers_0_conv", "output_blocks.5.2.conv.weight", kConv},
       {"lora_unet_up_blocks_0_resnets_0_conv_shortcut", "output_blocks.0.0.skip_connection.weight",
        kConv},
       {"lora_unet_input_blocks_1_1_proj_in", "input_blocks.1.1.proj_in.weight", kConv},
       {"lora_unet_output_blocks_11_1_transformer_blocks_0_attn2_to_v",
        "output_blocks.11.1.transformer_blocks.0.attn2.to_v.weight"},
       {"lora_unet_time_embedding_linear_1", "time_embed.0.weight"},
       {"lora_unet_conv_out", "out.2.weight", kConv},
       {"lora_te_text_model_encoder_layers_0_self_attn_q_proj",
        "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight"},
       {"lora_te_text_model_encoder_layers_11_mlp_fc2",
        "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight"}},
      {"lora_unet_down_blocks_3_attentions_0_proj_in",
       "lora_unet_down_blocks_0_resnets_0_conv_shortcut", "lora_unet_add_embedding_linear_1",
       "lora_unet_up_blocks_3_upsamplers_0_conv",
       "lora_te1_text_model_encoder_layers_0_self_attn_q_proj",
       "lora_te_text_model_encoder_layers_12_mlp_fc1"});
}

// SD 2.1: the SD 1.5 UNet with linear projections; OpenCLIP-H's 24 layers
// (diffusers keeps 23, so kohya trains 138 text modules; the 24th layer's
// names map too) with q/k/v as thirds of in_proj_weight.
TEST(SdLoraKeyMap, Sd21FullSize) {
  const SdModel m = full_size_model(TinyFamily::sd2);
  const LoraKeyMap map = ml::sd::lora_key_map(m);
  expect_targets_taken(map, m);
  expect_in_inventory(map, "sd21v.json");
  const Counts c = count(map);
  EXPECT_EQ(c.transformer, 192u);
  EXPECT_EQ(c.resnet_and_samplers, 86u);
  EXPECT_EQ(c.text, (std::map<std::string, size_t>{{"lora_te_", 24 * 6}}));
  const std::string te = "cond_stage_model.model.transformer.resblocks.";
  expect_pairs(
      map,
      {{"lora_unet_down_blocks_0_attentions_0_proj_in", "input_blocks.1.1.proj_in.weight"},
       {"lora_unet_up_blocks_3_attentions_2_proj_out", "output_blocks.11.1.proj_out.weight"},
       {"lora_unet_down_blocks_2_attentions_0_transformer_blocks_0_attn2_to_q",
        "input_blocks.7.1.transformer_blocks.0.attn2.to_q.weight"},
       {"lora_unet_up_blocks_2_attentions_2_transformer_blocks_0_ff_net_0_proj",
        "output_blocks.8.1.transformer_blocks.0.ff.net.0.proj.weight"},
       {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_k",
        "middle_block.1.transformer_blocks.0.attn1.to_k.weight"},
       {"lora_unet_up_blocks_2_upsamplers_0_conv", "output_blocks.8.2.conv.weight", kConv},
       {"lora_unet_down_blocks_1_resnets_1_conv2", "input_blocks.5.0.out_layers.3.weight", kConv},
       {"lora_unet_middle_block_1_proj_in", "middle_block.1.proj_in.weight"},
       {"lora_te_text_model_encoder_layers_0_self_attn_q_proj", te + "0.attn.in_proj_weight", kQkv,
        0},
       {"lora_te_text_model_encoder_layers_5_self_attn_k_proj", te + "5.attn.in_proj_weight", kQkv,
        1},
       {"lora_te_text_model_encoder_layers_22_self_attn_v_proj", te + "22.attn.in_proj_weight",
        kQkv, 2},
       {"lora_te_text_model_encoder_layers_3_self_attn_out_proj", te + "3.attn.out_proj.weight"},
       {"lora_te_text_model_encoder_layers_7_mlp_fc1", te + "7.mlp.c_fc.weight"},
       {"lora_te_text_model_encoder_layers_23_mlp_fc2", te + "23.mlp.c_proj.weight"}},
      {"lora_te_text_model_encoder_layers_24_mlp_fc1", "lora_unet_add_embedding_linear_1",
       "lora_te2_text_model_encoder_layers_0_mlp_fc1"});
}

// SDXL: levels without attention, depths 2 and 10, a depth-10 middle:
// 11 SpatialTransformers, 70 blocks: 70 x 10 + 11 x 2 = 722 UNet modules;
// LoCon adds 17 ResBlocks x 3 + 11 shortcuts + 4 samplers = 66; CLIP-L 72
// and bigG 32 x 6 = 192 text modules.
TEST(SdLoraKeyMap, SdxlFullSize) {
  const SdModel m = full_size_model(TinyFamily::sdxl);
  const LoraKeyMap map = ml::sd::lora_key_map(m);
  expect_targets_taken(map, m);
  expect_in_inventory(map, "sdxl_base.json");
  const Counts c = count(map);
  EXPECT_EQ(c.transformer, 722u);
  EXPECT_EQ(c.resnet_and_samplers, 66u);
  EXPECT_EQ(c.other_unet, 6u);  // + add_embedding.linear_1/2
  EXPECT_EQ(c.ldm_named, 722u + 66u + 6u);
  EXPECT_EQ(c.text, (std::map<std::string, size_t>{{"lora_te1_", 72}, {"lora_te2_", 192}}));
  const std::string te2 = "conditioner.embedders.1.model.transformer.resblocks.";
  expect_pairs(
      map,
      {{"lora_unet_down_blocks_1_attentions_0_transformer_blocks_1_attn1_to_q",
        "input_blocks.4.1.transformer_blocks.1.attn1.to_q.weight"},
       {"lora_unet_down_blocks_2_attentions_1_transformer_blocks_9_ff_net_2",
        "input_blocks.8.1.transformer_blocks.9.ff.net.2.weight"},
       {"lora_unet_mid_block_attentions_0_transformer_blocks_9_attn2_to_k",
        "middle_block.1.transformer_blocks.9.attn2.to_k.weight"},
       {"lora_unet_up_blocks_0_attentions_2_transformer_blocks_5_attn2_to_out_0",
        "output_blocks.2.1.transformer_blocks.5.attn2.to_out.0.weight"},
       {"lora_unet_up_blocks_1_attentions_0_proj_in", "output_blocks.3.1.proj_in.weight"},
       {"lora_unet_up_blocks_1_attentions_2_transformer_blocks_1_ff_net_0_proj",
        "output_blocks.5.1.transformer_blocks.1.ff.net.0.proj.weight"},
       {"lora_unet_up_blocks_0_upsamplers_0_conv", "output_blocks.2.2.conv.weight", kConv},
       {"lora_unet_up_blocks_1_upsamplers_0_conv", "output_blocks.5.2.conv.weight", kConv},
       {"lora_unet_down_blocks_0_downsamplers_0_conv", "input_blocks.3.0.op.weight", kConv},
       {"lora_unet_down_blocks_1_downsamplers_0_conv", "input_blocks.6.0.op.weight", kConv},
       {"lora_unet_down_blocks_0_resnets_1_conv1", "input_blocks.2.0.in_layers.2.weight", kConv},
       {"lora_unet_down_blocks_2_resnets_0_conv_shortcut",
        "input_blocks.7.0.skip_connection.weight", kConv},
       {"lora_unet_up_blocks_2_resnets_2_conv1", "output_blocks.8.0.in_layers.2.weight", kConv},
       {"lora_unet_add_embedding_linear_1", "label_emb.0.0.weight"},
       {"lora_unet_add_embedding_linear_2", "label_emb.0.2.weight"},
       {"lora_unet_input_blocks_7_1_transformer_blocks_3_attn1_to_v",
        "input_blocks.7.1.transformer_blocks.3.attn1.to_v.weight"},
       {"lora_unet_label_emb_0_0", "label_emb.0.0.weight"},
       {"lora_te1_text_model_encoder_layers_11_self_attn_v_proj",
        "conditioner.embedders.0.transformer.text_model.encoder.layers.11.self_attn.v_proj.weight"},
       {"lora_te2_text_model_encoder_layers_31_self_attn_k_proj", te2 + "31.attn.in_proj_weight",
        kQkv, 1},
       {"lora_te2_text_model_encoder_layers_0_mlp_fc1", te2 + "0.mlp.c_fc.weight"}},
      {"lora_unet_down_blocks_0_attentions_0_proj_in", "lora_unet_up_blocks_2_attentions_0_proj_in",
       "lora_unet_up_blocks_2_upsamplers_0_conv", "lora_unet_down_blocks_2_downsamplers_0_conv",
       "lora_te_text_model_encoder_layers_0_self_attn_q_proj",
       "lora_te2_text_model_encoder_layers_32_mlp_fc1"});
}

// Tiny checkpoints and LoRAs, made once; the Python reference merges them all
// in one process (importing torch is the slow part).
class SdLoraMerge : public ::testing::Test {
 protected:
  static std::filesystem::path dir;
  static bool have_reference;
  static std::string reference_failure;

  static std::string tag(TinyFamily f) {
    return f == TinyFamily::sd1 ? "sd1" : f == TinyFamily::sd2 ? "sd2" : "sdxl";
  }
  static std::filesystem::path ckpt(TinyFamily f) { return dir / (tag(f) + ".safetensors"); }
  static std::filesystem::path lora_a(TinyFamily f) { return dir / (tag(f) + "_a.safetensors"); }
  static std::filesystem::path lora_b(TinyFamily f) { return dir / (tag(f) + "_b.safetensors"); }
  static std::filesystem::path merged(TinyFamily f) { return dir / (tag(f) + "_ref.safetensors"); }

  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("sd_lora_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    nlohmann::json jobs = nlohmann::json::array();
    uint64_t seed = 11;
    for (TinyFamily f : {TinyFamily::sd1, TinyFamily::sd2, TinyFamily::sdxl}) {
      write_sd_checkpoint(ckpt(f), tiny(f), seed++);
      // A: diffusers names, attention + text encoders + LoCon convs, alpha 2 of rank 4.
      write_kohya_lora(lora_a(f), kohya_lora_modules(tiny(f), {.convs = true}), seed++,
                       ml::DType::F32,
                       {{"ss_output_name", "tiny_" + tag(f)}, {"ss_network_dim", "4"}});
      // B: LDM names, attention only, rank 2, no alpha (scale 1), stored F16.
      write_kohya_lora(
          lora_b(f),
          kohya_lora_modules(
              tiny(f),
              {.rank = 2, .alpha = std::nullopt, .text_encoders = false, .ldm_unet_names = true}),
          seed++, ml::DType::F16);
      jobs.push_back(
          {{"checkpoint", ckpt(f).string()},
           {"out", merged(f).string()},
           {"loras", nlohmann::json::array({nlohmann::json::array({lora_a(f).string(), 0.7}),
                                            nlohmann::json::array({lora_b(f).string(), -0.4})})}});
    }
    have_reference = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
    if (!have_reference) return;
    std::ofstream(dir / "jobs.json") << jobs.dump();
    const std::string cmd = std::string("/usr/bin/python3 ") + ATELIER_SD_REFERENCE_DIR +
                            "/lora_merge.py '" + (dir / "jobs.json").string() + "'";
    if (std::system(cmd.c_str()) != 0) reference_failure = cmd + " failed";
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir); }

  static std::map<std::string, torch::Tensor> snapshot(const SdModel& m) {
    std::map<std::string, torch::Tensor> s;
    for (const auto& [name, t] : m.params) s.emplace(name, t.clone());
    return s;
  }
  static void expect_identical(const SdModel& m, const std::map<std::string, torch::Tensor>& s) {
    ASSERT_EQ(m.params.size(), s.size());
    for (const auto& [name, t] : m.params) EXPECT_TRUE(torch::equal(t, s.at(name))) << name;
  }

  // Merges A at 0.7 and B at -0.4, compares with the reference, then checks
  // the restore. Returns the largest difference.
  static double merge_and_compare(TinyFamily f) {
    torch::NoGradGuard no_grad;
    auto m = ml::sd::load_sd_model(ckpt(f));
    const auto before = snapshot(*m);
    const SdLora a = ml::sd::load_sd_lora(lora_a(f)), b = ml::sd::load_sd_lora(lora_b(f));
    EXPECT_EQ(a.metadata.at("ss_output_name"), "tiny_" + tag(f));
    double worst = 0;
    {
      AppliedSdLoras applied(*m, {{&a, 0.7}, {&b, -0.4}});
      const auto ref = read_all(merged(f));
      EXPECT_EQ(applied.tensors(), ref.size());
      for (const auto& [name, t] : m->params) {
        auto r = ref.find(name);
        if (r == ref.end()) {
          EXPECT_TRUE(torch::equal(t, before.at(name))) << name << " changed";
          continue;
        }
        const double d = max_abs_diff(t, r->second);
        EXPECT_LT(d, 1e-6) << name;
        EXPECT_GT(max_abs_diff(t, before.at(name)), 1e-4) << name << " unchanged";
        worst = std::max(worst, d);
      }
      // The addnet hash, against hashlib over the data bytes.
      const auto meta = ml::SafetensorsFile::read_header(merged(f)).metadata();
      EXPECT_EQ(ml::sd::lora_addnet_sha256(lora_a(f)), meta.at("addnet_hash_0"));
      EXPECT_EQ(a.addnet_hash, meta.at("addnet_hash_0").substr(0, 12));
      EXPECT_EQ(b.addnet_hash, meta.at("addnet_hash_1").substr(0, 12));
    }
    expect_identical(*m, before);
    return worst;
  }
};
std::filesystem::path SdLoraMerge::dir;
bool SdLoraMerge::have_reference = false;
std::string SdLoraMerge::reference_failure;

#define SKIP_WITHOUT_REFERENCE()                                                                  \
  if (!have_reference) GTEST_SKIP() << "needs /usr/bin/python3 with torch (the reference merge)"; \
  ASSERT_EQ(reference_failure, "")

TEST_F(SdLoraMerge, Sd1MatchesReference) {
  SKIP_WITHOUT_REFERENCE();
  std::cout << "max diff sd1: " << merge_and_compare(TinyFamily::sd1) << "\n";
}

TEST_F(SdLoraMerge, Sd2MatchesReference) {
  SKIP_WITHOUT_REFERENCE();
  std::cout << "max diff sd2: " << merge_and_compare(TinyFamily::sd2) << "\n";
}

TEST_F(SdLoraMerge, SdxlMatchesReference) {
  SKIP_WITHOUT_REFERENCE();
  std::cout << "max diff sdxl: " << merge_and_compare(TinyFamily::sdxl) << "\n";
}

// The components read the tensors the LoRA changed (params share their
// storage), and read the originals again afterwards, bit for bit.
TEST_F(SdLoraMerge, ForwardPassSeesTheMergeAndTheRestore) {
  torch::NoGradGuard no_grad;
  auto m = ml::sd::load_sd_model(ckpt(TinyFamily::sd1));
  const SdLora a = ml::sd::load_sd_lora(lora_a(TinyFamily::sd1));
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({1, 4, 8, 8}), t = torch::tensor({500});
  const torch::Tensor ctx = torch::randn({1, 77, m->unet->config().context_dim});
  const torch::Tensor tokens = torch::randint(0, 999, {1, 77}, torch::kLong);
  const torch::Tensor u0 = m->unet->forward(x, t, ctx);
  const torch::Tensor e0 = m->te_l->forward(tokens).hidden.back();
  {
    AppliedSdLoras applied(*m, {{&a, 1.0}});
    EXPECT_GT(max_abs_diff(m->unet->forward(x, t, ctx), u0), 1e-3);
    EXPECT_GT(max_abs_diff(m->te_l->forward(tokens).hidden.back(), e0), 1e-3);
  }
  EXPECT_TRUE(torch::equal(m->unet->forward(x, t, ctx), u0));
  EXPECT_TRUE(torch::equal(m->te_l->forward(tokens).hidden.back(), e0));
}

TEST_F(SdLoraMerge, UnknownModulesAreListedAndNothingChanges) {
  torch::NoGradGuard no_grad;
  auto m = ml::sd::load_sd_model(ckpt(TinyFamily::sd1));
  const auto before = snapshot(*m);
  auto modules = kohya_lora_modules(tiny(TinyFamily::sd1), {});
  modules.push_back({"lora_unet_down_blocks_5_attentions_0_proj_in", {4, 32}, {32, 4}, 4.0f});
  modules.push_back({"lora_te2_text_model_encoder_layers_0_mlp_fc1", {4, 32}, {128, 4}, {}});
  const auto path = dir / "unknown.safetensors";
  write_kohya_lora(path, modules, 5);
  const SdLora lora = ml::sd::load_sd_lora(path);
  try {
    AppliedSdLoras applied(*m, {{&lora, 1.0}});
    FAIL() << "an unknown module was accepted";
  } catch (const WeightError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("2 module(s) name no part of this SD 1.x model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lora_unet_down_blocks_5_attentions_0_proj_in"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lora_te2_text_model_encoder_layers_0_mlp_fc1"), std::string::npos) << msg;
  }
  expect_identical(*m, before);
}

TEST_F(SdLoraMerge, Sd1LoraOnSdxlNamesFileKeyAndShapes) {
  torch::NoGradGuard no_grad;
  auto m = ml::sd::load_sd_model(ckpt(TinyFamily::sdxl));
  const auto before = snapshot(*m);
  const auto path = dir / "sd1_on_sdxl.safetensors";
  write_kohya_lora(path, kohya_lora_modules(tiny(TinyFamily::sd1), {}), 6, ml::DType::F32,
                   {{"ss_base_model_version", "sd_v1"}});
  const SdLora lora = ml::sd::load_sd_lora(path);
  try {
    AppliedSdLoras applied(*m, {{&lora, 1.0}});
    FAIL() << "an SD 1.x LoRA was applied to SDXL";
  } catch (const WeightError& e) {
    const std::string msg = e.what();
    // Tiny SD 1.x: context 32; tiny SDXL: 32 + 48. The middle block is 64 wide in both.
    EXPECT_EQ(msg.rfind(path.string() +
                            ": lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k: "
                            "lora_up [64, 4] @ lora_down [4, 32] does not fit "
                            "model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k."
                            "weight [64, 80]",
                        0),
              0u)
        << msg;
    EXPECT_NE(msg.find("name no part of this SDXL model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ss_base_model_version sd_v1"), std::string::npos) << msg;
  }
  expect_identical(*m, before);
}

TEST(SdLoraFile, PickleAndForeignTensorsAreRefused) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sd_lora_file_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (const char* name : {"lora.ckpt", "lora.safetensors"}) {
    std::ofstream(dir / name, std::ios::binary) << "\x80\x02}q\x00.";
    try {
      ml::sd::load_sd_lora(dir / name);
      ADD_FAILURE() << name << " was read";
    } catch (const WeightError& e) {
      EXPECT_NE(std::string(e.what()).find("pickle"), std::string::npos) << e.what();
    }
  }
  // A LoHa tensor is not one this loader applies: named, not skipped.
  const float one = 1;
  const auto bytes = std::as_bytes(std::span(&one, 1));
  ml::write_safetensors(dir / "loha.safetensors",
                        {{"lora_unet_conv_in.hada_w1_a", ml::DType::F32, {1, 1}, bytes}}, {});
  EXPECT_THROW(
      {
        try {
          ml::sd::load_sd_lora(dir / "loha.safetensors");
        } catch (const WeightError& e) {
          EXPECT_NE(std::string(e.what()).find("lora_unet_conv_in.hada_w1_a"), std::string::npos);
          throw;
        }
      },
      WeightError);
  // A down without its up.
  ml::write_safetensors(dir / "half.safetensors",
                        {{"lora_unet_conv_in.lora_down.weight", ml::DType::F32, {1, 1}, bytes}},
                        {});
  EXPECT_THROW(ml::sd::load_sd_lora(dir / "half.safetensors"), WeightError);
  std::filesystem::remove_all(dir);
}

// The hash covers the data only: metadata changes leave it, data changes move it.
TEST(SdLoraFile, AddnetHashIgnoresTheHeader) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sd_lora_hash_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto modules = kohya_lora_modules(tiny(TinyFamily::sd1), {.text_encoders = false});
  write_kohya_lora(dir / "a.safetensors", modules, 1, ml::DType::F32, {{"ss_output_name", "a"}});
  write_kohya_lora(dir / "b.safetensors", modules, 1, ml::DType::F32,
                   {{"ss_output_name", "a much longer name"}});
  write_kohya_lora(dir / "c.safetensors", modules, 2, ml::DType::F32, {{"ss_output_name", "a"}});
  const std::string a = ml::sd::lora_addnet_hash(dir / "a.safetensors");
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a, ml::sd::lora_addnet_hash(dir / "b.safetensors"));
  EXPECT_NE(a, ml::sd::lora_addnet_hash(dir / "c.safetensors"));
  EXPECT_EQ(ml::sd::lora_addnet_sha256(dir / "a.safetensors").substr(0, 12), a);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace atelier::test::sd
