// The CLIP text encoders and the SD families' text conditioning against the
// upstream code's outputs for the tiny checkpoints (fp32 and fp16 weights),
// SDXL's vector conditioning against its reference y, and construction from
// the full-size key inventories taking every text-encoder parameter.
#include <gtest/gtest.h>

#include <iostream>

#include "ml/sd/checkpoint_file.h"
#include "ml/sd/clip_text_model.h"
#include "ml/sd/sdxl_conditioning.h"
#include "ml/sd/text_conditioning.h"
#include "sd_refs.h"

using namespace atelier::ml::sd;
namespace ts = atelier::test::sd;

namespace {

constexpr double kTolerance = 1e-4;
// The tiny encoders' true head counts (index.json: tiny_clip_l.num_attention_heads,
// tiny_open_clip.text_cfg.heads); shapes cannot tell them.
constexpr int64_t kTinyClipLHeads = 4;
constexpr int64_t kTinySd21OpenClipHeads = 4;
constexpr int64_t kTinySdxlOpenClipHeads = 3;

const char* const kSd1Prefix = "cond_stage_model.transformer.text_model.";
const char* const kSd2Prefix = "cond_stage_model.model.";
const char* const kSdxlLPrefix = "conditioner.embedders.0.transformer.text_model.";
const char* const kSdxlGPrefix = "conditioner.embedders.1.model.";

struct Tiny {
  CheckpointFile file;
  std::map<std::string, torch::Tensor> ref;
};

Tiny load_tiny(const std::string& name, const std::vector<std::string>& prefixes) {
  const auto dir = ts::layouts_dir() / "tiny";
  return Tiny{read_checkpoint(dir / (name + ".safetensors"), prefixes),
              ts::read_all(dir / (name + "_ref.safetensors"))};
}

// Checks within tolerance and prints the difference for the record.
void expect_close(const std::string& what, const torch::Tensor& got, const torch::Tensor& want) {
  const double diff = ts::max_abs_diff(got, want);
  std::cout << "  " << what << ": max abs diff " << diff << "\n";
  EXPECT_LE(diff, kTolerance) << what;
}

std::vector<std::string> unused_under(const Weights& w, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& name : w.unused())
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  return out;
}

Weights inventory(const std::string& file, std::vector<ts::InventoryRow>* rows = nullptr) {
  std::vector<ts::InventoryRow> r = ts::read_inventory(ts::layouts_dir() / file);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& row : r) shapes[row.name] = row.shape;
  if (rows) *rows = std::move(r);
  return Weights::from_shapes(shapes, file);
}

class SdClipTextModel : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Precisions, SdClipTextModel, ::testing::Values("", "_fp16"),
                         [](const auto& info) {
                           return info.param.empty() ? std::string("fp32") : std::string("fp16");
                         });

}  // namespace

TEST_P(SdClipTextModel, Sd15HiddenStatesContextsAndPooledMatchTheReference) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  const std::string name = "tiny_sd15" + GetParam();
  Tiny t = load_tiny(name, {kSd1Prefix});
  Weights& w = t.file.weights;
  ClipTextConfig c = ClipTextModel::infer(w, kSd1Prefix, kTinyClipLHeads);
  EXPECT_EQ(c.layout, ClipLayout::kHf);
  EXPECT_EQ(c.activation, ClipActivation::kQuickGelu);
  EXPECT_EQ(c.layers, 3);
  EXPECT_EQ(c.width, 32);
  EXPECT_EQ(c.mlp_width, 128);
  EXPECT_EQ(c.projection_dim, 0);
  ClipTextModel te(w, kSd1Prefix, c);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});

  const torch::Tensor tokens = t.ref.at("in.tokens");
  std::cout << name << "\n";
  ClipTextStates s = te.forward(tokens);
  ASSERT_EQ(s.hidden.size(), 4u);
  for (size_t i = 0; i < s.hidden.size(); ++i)
    expect_close("te.hidden_states." + std::to_string(i), s.hidden[i],
                 t.ref.at("te.hidden_states." + std::to_string(i)));
  expect_close("te.pooled", s.pooled, t.ref.at("te.pooled"));
  expect_close("te.last_hidden_state (clip skip 1)", clip_context(te, tokens, kSd1DefaultClipSkip),
               t.ref.at("te.last_hidden_state"));
  expect_close("te.penultimate_final_ln (clip skip 2)", clip_context(te, tokens, 2),
               t.ref.at("te.penultimate_final_ln"));
}

TEST_P(SdClipTextModel, Sd21vLastAndPenultimateMatchTheReference) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  const std::string name = "tiny_sd21v" + GetParam();
  Tiny t = load_tiny(name, {kSd2Prefix});
  Weights& w = t.file.weights;
  ClipTextConfig c = ClipTextModel::infer(w, kSd2Prefix, kTinySd21OpenClipHeads);
  EXPECT_EQ(c.layout, ClipLayout::kOpenClip);
  EXPECT_EQ(c.activation, ClipActivation::kGelu);
  EXPECT_EQ(c.layers, 3);
  EXPECT_EQ(c.projection_dim, 24);
  ClipTextModel te(w, kSd2Prefix, c);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});

  const torch::Tensor tokens = t.ref.at("in.tokens");
  std::cout << name << "\n";
  expect_close("te.penultimate (clip skip 2)", clip_context(te, tokens, kSd2DefaultClipSkip),
               t.ref.at("te.penultimate"));
  expect_close("te.last (clip skip 1)", clip_context(te, tokens, 1), t.ref.at("te.last"));
}

TEST_P(SdClipTextModel, SdxlCrossattnPooledAndVectorMatchTheReference) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  const std::string name = "tiny_sdxl" + GetParam();
  Tiny t = load_tiny(name, {kSdxlLPrefix, kSdxlGPrefix});
  Weights& w = t.file.weights;
  ClipTextModel te_l(w, kSdxlLPrefix, ClipTextModel::infer(w, kSdxlLPrefix, kTinyClipLHeads));
  ClipTextModel te_g(w, kSdxlGPrefix,
                     ClipTextModel::infer(w, kSdxlGPrefix, kTinySdxlOpenClipHeads));
  EXPECT_EQ(te_g.config().width, 48);
  EXPECT_EQ(te_g.config().projection_dim, 40);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});

  std::cout << name << "\n";
  SdxlText text = sdxl_text(te_l, te_g, t.ref.at("in.tokens_l"), t.ref.at("in.tokens_g"));
  expect_close("te.crossattn", text.crossattn, t.ref.at("te.crossattn"));
  expect_close("te.l_hidden", text.crossattn.slice(2, 0, 32), t.ref.at("te.l_hidden"));
  expect_close("te.g_penultimate", text.crossattn.slice(2, 32), t.ref.at("te.g_penultimate"));
  expect_close("te.g_pooled", text.pooled, t.ref.at("te.g_pooled"));
  expect_close(
      "unet.y",
      sdxl_vector(text.pooled, t.ref.at("in.original_size_as_tuple"),
                  t.ref.at("in.crop_coords_top_left"), t.ref.at("in.target_size_as_tuple")),
      t.ref.at("unet.y"));
}

TEST(SdClipTextModel, StoppingEarlyGivesTheSameStatesWithoutPooled) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  Tiny t = load_tiny("tiny_sd15", {kSd1Prefix});
  ClipTextModel te(t.file.weights, kSd1Prefix,
                   ClipTextModel::infer(t.file.weights, kSd1Prefix, kTinyClipLHeads));
  const torch::Tensor tokens = t.ref.at("in.tokens");
  ClipTextStates part = te.forward(tokens, 1);
  ASSERT_EQ(part.hidden.size(), 2u);
  EXPECT_FALSE(part.pooled.defined());
  EXPECT_TRUE(torch::equal(part.hidden[1], te.forward(tokens).hidden[1]));
  EXPECT_THROW(clip_context(te, tokens, 0), std::invalid_argument);
  EXPECT_THROW(clip_context(te, tokens, 4), std::invalid_argument);
  EXPECT_THROW(te.forward(torch::zeros({2, 78}, torch::kLong)), std::invalid_argument);
}

TEST(SdClipTextModel, SdxlVectorFromSizesEmbedsEachNumberInOrder) {
  const torch::Tensor pooled = torch::ones({2, 3});
  SdxlSizes s{768, 1024, 16, 32, 1024, 1536};
  torch::Tensor y = sdxl_vector(pooled, s);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3 + 3 * 512}));
  EXPECT_TRUE(torch::equal(y.slice(1, 0, 3), pooled));
  const int64_t values[] = {768, 1024, 16, 32, 1024, 1536};
  for (int i = 0; i < 6; ++i)
    EXPECT_TRUE(torch::allclose(y.slice(1, 3 + 256 * i, 3 + 256 * (i + 1)),
                                timestep_embedding(torch::full({2}, values[i]), 256)))
        << i;
  EXPECT_THROW(sdxl_pair_embedding(torch::zeros({2, 3})), std::invalid_argument);
}

namespace {

struct FullSize {
  const char* file;
  const char* prefix;
  const char* owner;  // everything of the encoder's embedder, buffers included
  ClipLayout layout;
  int64_t width, layers, heads, projection_dim;
  size_t params;  // as summary.json counts the component (position_ids apart)
};

}  // namespace

TEST(SdClipTextModel, FullSizeInventoriesAreTakenWhole) {
  SKIP_WITHOUT_SD_LAYOUTS();
  const FullSize cases[] = {
      {"sd15.json", kSd1Prefix, "cond_stage_model.", ClipLayout::kHf, 768, 12, 12, 0, 196},
      {"sd21v.json", kSd2Prefix, "cond_stage_model.", ClipLayout::kOpenClip, 1024, 24, 16, 1024,
       294},
      {"sdxl_base.json", kSdxlLPrefix, "conditioner.embedders.0.", ClipLayout::kHf, 768, 12, 12, 0,
       196},
      {"sdxl_base.json", kSdxlGPrefix, "conditioner.embedders.1.", ClipLayout::kOpenClip, 1280, 32,
       20, 1280, 390},
  };
  for (const FullSize& f : cases) {
    SCOPED_TRACE(std::string(f.file) + " " + f.prefix);
    std::vector<ts::InventoryRow> rows;
    Weights w = inventory(f.file, &rows);
    ClipTextConfig c = ClipTextModel::infer(w, f.prefix);
    EXPECT_EQ(c.layout, f.layout);
    EXPECT_EQ(c.width, f.width);
    EXPECT_EQ(c.layers, f.layers);
    EXPECT_EQ(c.heads, f.heads);
    EXPECT_EQ(c.projection_dim, f.projection_dim);
    EXPECT_EQ(c.vocab, 49408);
    EXPECT_EQ(c.max_positions, 77);
    ClipTextModel te(w, f.prefix, c);
    size_t params = 0;
    for (const auto& row : rows)
      if (row.name.rfind(f.prefix, 0) == 0 && row.kind == "param") ++params;
    EXPECT_EQ(params, f.params);
    // Every parameter and buffer of the embedder was taken or skipped by name
    // (position_ids, logit_scale): nothing of it is left for the loader.
    EXPECT_EQ(unused_under(w, f.owner), std::vector<std::string>{});
    EXPECT_GT(w.unused().size(), 0u);  // the UNet and VAE, nobody's here
  }
}

TEST(SdClipTextModel, AShapeThatContradictsTheConfigIsNamed) {
  SKIP_WITHOUT_SD_LAYOUTS();
  std::vector<ts::InventoryRow> rows = ts::read_inventory(ts::layouts_dir() / "sd21v.json");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& row : rows) shapes[row.name] = row.shape;
  const std::string fc2 = std::string(kSd2Prefix) + "transformer.resblocks.7.mlp.c_proj.weight";
  shapes[fc2] = {1024, 4000};
  Weights w = Weights::from_shapes(shapes, "sd21v.safetensors");
  try {
    ClipTextModel te(w, kSd2Prefix, ClipTextModel::infer(w, kSd2Prefix));
    FAIL() << "a [1024, 4000] c_proj was accepted";
  } catch (const WeightError& e) {
    EXPECT_STREQ(e.what(),
                 ("sd21v.safetensors: " + fc2 + ": expected shape [1024, 4096], found [1024, 4000]")
                     .c_str());
  }
  Weights w2 = Weights::from_shapes(shapes, "sd21v.safetensors");
  ClipTextConfig c = ClipTextModel::infer(w2, kSd2Prefix, 3);
  try {
    ClipTextModel te(w2, kSd2Prefix, c);
    FAIL() << "1024 channels split into 3 heads";
  } catch (const WeightError& e) {
    EXPECT_STREQ(e.what(),
                 "sd21v.safetensors: cond_stage_model.model.: width 1024 does not "
                 "split into 3 heads");
  }
  try {
    ClipTextModel::infer(w2, "cond_stage_model.transformer.text_model.");
    FAIL();
  } catch (const WeightError& e) {
    EXPECT_NE(std::string(e.what()).find("no CLIP text encoder under "
                                         "cond_stage_model.transformer.text_model."),
              std::string::npos)
        << e.what();
  }
}

TEST(SdClipTextModel, AVisionTowerBesideTheTextModelIsSkipped) {
  std::map<std::string, std::vector<int64_t>> shapes = {
      {"m.token_embedding.weight", {10, 8}},
      {"m.positional_embedding", {77, 8}},
      {"m.ln_final.weight", {8}},
      {"m.ln_final.bias", {8}},
      {"m.text_projection", {8, 4}},
      {"m.logit_scale", {}},
      {"m.visual.proj", {8, 4}},
      {"m.visual.transformer.resblocks.0.ln_1.weight", {8}},
  };
  const std::string l = "m.transformer.resblocks.0.";
  for (const char* ln : {"ln_1.", "ln_2."}) {
    shapes[l + ln + "weight"] = {8};
    shapes[l + ln + "bias"] = {8};
  }
  shapes[l + "attn.in_proj_weight"] = {24, 8};
  shapes[l + "attn.in_proj_bias"] = {24};
  shapes[l + "attn.out_proj.weight"] = {8, 8};
  shapes[l + "attn.out_proj.bias"] = {8};
  shapes[l + "mlp.c_fc.weight"] = {32, 8};
  shapes[l + "mlp.c_fc.bias"] = {32};
  shapes[l + "mlp.c_proj.weight"] = {8, 32};
  shapes[l + "mlp.c_proj.bias"] = {8};
  Weights w = Weights::from_shapes(shapes, "oc.safetensors");
  ClipTextModel te(w, "m.", ClipTextModel::infer(w, "m.", 2));
  EXPECT_EQ(te.config().layers, 1);
  EXPECT_EQ(te.config().mlp_width, 32);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});
}
