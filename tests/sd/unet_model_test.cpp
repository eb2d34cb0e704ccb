// The SD UNet against the upstream code: the tiny SD1/SD2/SDXL checkpoints
// (fp32 and fp16) must reproduce the reference outputs, the full-size
// inventories must be consumed entirely with the known architectures
// inferred, and a contradicting shape must be refused with the tensor named.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ml/sd/checkpoint_file.h"
#include "ml/sd/unet_model.h"
#include "sd_refs.h"

using namespace atelier::ml::sd;
using atelier::test::sd::layouts_dir;
using atelier::test::sd::max_abs_diff;
using atelier::test::sd::read_all;
using atelier::test::sd::read_inventory;

namespace {

const std::string kPrefix = "model.diffusion_model.";

struct TinyCase {
  std::string name;
  int64_t num_heads, head_channels;  // the tiny configs' true values (index.json)
};

void PrintTo(const TinyCase& c, std::ostream* os) {
  *os << c.name;
}

std::map<std::string, std::vector<int64_t>> unet_shapes(const std::string& inventory) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& row : read_inventory(layouts_dir() / inventory))
    if (row.name.rfind(kPrefix, 0) == 0) shapes.emplace(row.name, row.shape);
  return shapes;
}

std::string error_of(Weights& w, const UNetConfig& c) {
  try {
    UNetModel unet(w, kPrefix, c);
  } catch (const WeightError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

class SdUNetTiny : public ::testing::TestWithParam<TinyCase> {};

TEST_P(SdUNetTiny, MatchesTheUpstreamOutput) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  const TinyCase& tc = GetParam();
  CheckpointFile file =
      read_checkpoint(layouts_dir() / "tiny" / (tc.name + ".safetensors"), {kPrefix});
  UNetConfig config = UNetModel::infer(file.weights, kPrefix);
  config.num_heads = tc.num_heads;
  config.head_channels = tc.head_channels;
  UNetModel unet(file.weights, kPrefix, config);
  EXPECT_EQ(file.weights.unused(), std::vector<std::string>{});

  auto ref = read_all(layouts_dir() / "tiny" / (tc.name + "_ref.safetensors"));
  torch::Tensor y = ref.count("unet.y") ? ref.at("unet.y") : torch::Tensor();
  torch::Tensor out = unet.forward(ref.at("unet.x"), ref.at("unet.t"), ref.at("unet.context"), y);
  const double diff = max_abs_diff(out, ref.at("unet.out"));
  EXPECT_LT(diff, 1e-4);
  // Samplers pass fractional timesteps; whole ones must give the same result.
  EXPECT_TRUE(torch::equal(out, unet.forward(ref.at("unet.x"), ref.at("unet.t").to(torch::kFloat),
                                             ref.at("unet.context"), y)));
  std::cout << "[          ] " << tc.name << " unet.out max abs diff " << diff << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Checkpoints, SdUNetTiny,
    ::testing::Values(TinyCase{"tiny_sd15", 2, 0}, TinyCase{"tiny_sd15_fp16", 2, 0},
                      TinyCase{"tiny_sd21v", 0, 16}, TinyCase{"tiny_sd21v_fp16", 0, 16},
                      TinyCase{"tiny_sdxl", 0, 16}, TinyCase{"tiny_sdxl_fp16", 0, 16}),
    [](const auto& info) { return info.param.name; });

TEST(SdUNet, InfersTheTinyArchitectures) {
  SKIP_WITHOUT_SD_LAYOUTS();
  CheckpointFile sd15 =
      read_checkpoint(layouts_dir() / "tiny" / "tiny_sd15.safetensors", {kPrefix});
  UNetConfig c = UNetModel::infer(sd15.weights, kPrefix);
  EXPECT_EQ(c.model_channels, 32);
  EXPECT_EQ(c.channel_mult, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.num_res_blocks, 1);
  // attention_resolutions [1]: attention at the top level only.
  EXPECT_EQ(c.transformer_depth, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(c.middle_transformer_depth, 1);
  EXPECT_FALSE(c.linear_proj);

  CheckpointFile sdxl =
      read_checkpoint(layouts_dir() / "tiny" / "tiny_sdxl.safetensors", {kPrefix});
  c = UNetModel::infer(sdxl.weights, kPrefix);
  // attention_resolutions [2]: none at the top level, depth 2 below.
  EXPECT_EQ(c.transformer_depth, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(c.middle_transformer_depth, 2);
  EXPECT_EQ(c.adm_in_channels, 1576);
  EXPECT_EQ(c.context_dim, 80);
  EXPECT_TRUE(c.linear_proj);
}

TEST(SdUNet, BuildsFullSizeSd15AndTakesEveryKey) {
  SKIP_WITHOUT_SD_LAYOUTS();
  Weights w = Weights::from_shapes(unet_shapes("sd15.json"), "sd15.json");
  UNetConfig c = UNetModel::infer(w, kPrefix);
  EXPECT_EQ(c.in_channels, 4);
  EXPECT_EQ(c.out_channels, 4);
  EXPECT_EQ(c.model_channels, 320);
  EXPECT_EQ(c.time_embed_dim, 1280);
  EXPECT_EQ(c.channel_mult, (std::vector<int64_t>{1, 2, 4, 4}));
  EXPECT_EQ(c.num_res_blocks, 2);
  EXPECT_EQ(c.transformer_depth, (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(c.middle_transformer_depth, 1);
  EXPECT_EQ(c.context_dim, 768);
  EXPECT_FALSE(c.linear_proj);
  EXPECT_EQ(c.adm_in_channels, 0);
  EXPECT_EQ(c.num_heads, 8);
  EXPECT_EQ(c.head_channels, 0);
  UNetModel unet(w, kPrefix, c);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});
}

TEST(SdUNet, BuildsFullSizeSd21AndTakesEveryKey) {
  SKIP_WITHOUT_SD_LAYOUTS();
  Weights w = Weights::from_shapes(unet_shapes("sd21v.json"), "sd21v.json");
  UNetConfig c = UNetModel::infer(w, kPrefix);
  EXPECT_EQ(c.model_channels, 320);
  EXPECT_EQ(c.channel_mult, (std::vector<int64_t>{1, 2, 4, 4}));
  EXPECT_EQ(c.num_res_blocks, 2);
  EXPECT_EQ(c.transformer_depth, (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(c.context_dim, 1024);
  EXPECT_TRUE(c.linear_proj);
  EXPECT_EQ(c.adm_in_channels, 0);
  EXPECT_EQ(c.num_heads, 0);
  EXPECT_EQ(c.head_channels, 64);
  UNetModel unet(w, kPrefix, c);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});
}

TEST(SdUNet, BuildsFullSizeSdxlAndTakesEveryKey) {
  SKIP_WITHOUT_SD_LAYOUTS();
  Weights w = Weights::from_shapes(unet_shapes("sdxl_base.json"), "sdxl_base.json");
  UNetConfig c = UNetModel::infer(w, kPrefix);
  EXPECT_EQ(c.model_channels, 320);
  EXPECT_EQ(c.channel_mult, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(c.num_res_blocks, 2);
  EXPECT_EQ(c.transformer_depth, (std::vector<int64_t>{0, 2, 10}));
  EXPECT_EQ(c.middle_transformer_depth, 10);
  EXPECT_EQ(c.context_dim, 2048);
  EXPECT_TRUE(c.linear_proj);
  EXPECT_EQ(c.adm_in_channels, 2816);
  EXPECT_EQ(c.head_channels, 64);
  UNetModel unet(w, kPrefix, c);
  EXPECT_EQ(w.unused(), std::vector<std::string>{});
}

TEST(SdUNet, RefusesABlockWhoseInputContradictsThePreviousOne) {
  SKIP_WITHOUT_SD_LAYOUTS();
  auto shapes = unet_shapes("sd15.json");
  // The first ResBlock of level 1 reads the 320 channels level 0 leaves.
  shapes.at(kPrefix + "input_blocks.4.0.in_layers.2.weight") = {640, 480, 3, 3};
  Weights w = Weights::from_shapes(shapes, "bad.safetensors");
  EXPECT_EQ(error_of(w, UNetModel::infer(w, kPrefix)),
            "bad.safetensors: model.diffusion_model.input_blocks.4.0.in_layers.2.weight: "
            "expected shape [640, 320, 3, 3], found [640, 480, 3, 3]");
}

TEST(SdUNet, RefusesBlocksTheStructureDoesNotExplain) {
  SKIP_WITHOUT_SD_LAYOUTS();
  auto shapes = unet_shapes("sd15.json");
  // The way down says depth 1 at level 2; a second block on the way up is
  // a layout this code does not know.
  shapes.emplace(kPrefix + "output_blocks.4.1.transformer_blocks.1.norm1.weight",
                 std::vector<int64_t>{1280});
  Weights w = Weights::from_shapes(shapes, "extra.safetensors");
  EXPECT_EQ(error_of(w, UNetModel::infer(w, kPrefix)),
            "extra.safetensors: model.diffusion_model.output_blocks.4.1.transformer_blocks: "
            "expected 1 blocks, found 2");

  Weights ok = Weights::from_shapes(unet_shapes("sd15.json"), "sd15.json");
  UNetConfig c = UNetModel::infer(ok, kPrefix);
  c.num_heads = 7;  // 320 channels do not split into 7 heads
  EXPECT_EQ(error_of(ok, c),
            "sd15.json: model.diffusion_model.input_blocks.1.1.proj_in.weight: 320 channels do "
            "not split into 7 heads");
}

TEST(SdUNet, RefusesInputsOfTheWrongShape) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  CheckpointFile file =
      read_checkpoint(layouts_dir() / "tiny" / "tiny_sd15.safetensors", {kPrefix});
  UNetConfig c = UNetModel::infer(file.weights, kPrefix);
  c.num_heads = 2;
  UNetModel unet(file.weights, kPrefix, c);
  const torch::Tensor t = torch::tensor({10, 20}), ctx = torch::zeros({2, 77, 32});
  EXPECT_THROW(unet.forward(torch::zeros({2, 4, 15, 16}), t, ctx), std::invalid_argument);
  EXPECT_THROW(unet.forward(torch::zeros({2, 4, 16, 16}), t, torch::zeros({2, 77, 16})),
               std::invalid_argument);
  EXPECT_THROW(unet.forward(torch::zeros({2, 4, 16, 16}), t, ctx, torch::zeros({2, 8})),
               std::invalid_argument);
  EXPECT_EQ(unet.forward(torch::zeros({2, 4, 8, 12}), t, ctx).sizes(),
            (std::vector<int64_t>{2, 4, 8, 12}));
}

TEST(SdUNet, SlicedAttentionEqualsTheWholeScoreMatrix) {
  torch::manual_seed(7);
  const torch::Tensor q = torch::randn({2, 37, 24}), k = torch::randn({2, 11, 24}),
                      v = torch::randn({2, 11, 24});
  const torch::Tensor whole = attention(q, k, v, 3);
  // 2 x 3 heads x 11 keys x 4 bytes = 264 bytes per query row: 1, 3 and all rows.
  for (int64_t budget : {int64_t(1), int64_t(800), unet::kAttentionScoreBudget})
    EXPECT_LT(max_abs_diff(unet::sliced_attention(q, k, v, 3, budget), whole), 1e-6) << budget;
}
