// The SD AutoencoderKL against the upstream code's outputs on the tiny
// checkpoints (fp32 and fp16 weights), tiled decoding against a whole decode,
// and construction from the full-size key inventories.
#include <gtest/gtest.h>

#include "ml/sd/checkpoint_file.h"
#include "ml/sd/vae_model.h"
#include "sd_refs.h"

using namespace atelier::ml::sd;
namespace ref = atelier::test::sd;

namespace {

const std::string kPrefix = "first_stage_model.";

std::map<std::string, std::vector<int64_t>> inventory_shapes(const std::string& file) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& row : ref::read_inventory(ref::layouts_dir() / file))
    shapes[row.name] = row.shape;
  return shapes;
}

std::vector<std::string> unused_under(const Weights& w, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& name : w.unused())
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  return out;
}

}  // namespace

TEST(SdVae, MatchesUpstreamDecodeAndMomentsOnTinyCheckpoints) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  for (const char* name : {"tiny_sd15", "tiny_sd21v", "tiny_sdxl", "tiny_sd15_fp16",
                           "tiny_sd21v_fp16", "tiny_sdxl_fp16"}) {
    SCOPED_TRACE(name);
    const auto dir = ref::layouts_dir() / "tiny";
    CheckpointFile file = read_checkpoint(dir / (std::string(name) + ".safetensors"));
    const auto refs = ref::read_all(dir / (std::string(name) + "_ref.safetensors"));
    VaeConfig c = VaeConfig::infer(file.weights, kPrefix);
    EXPECT_EQ(c.ch, 32);
    EXPECT_EQ(c.ch_mult, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(c.attn, (std::vector<bool>{false, false}));
    EXPECT_EQ(c.num_res_blocks, 1);
    VaeModel vae(file.weights, kPrefix, c);
    EXPECT_EQ(vae.downscale_factor(), 2);
    EXPECT_EQ(unused_under(file.weights, kPrefix), std::vector<std::string>{});

    const double decoded = ref::max_abs_diff(vae.decode(refs.at("vae.z")), refs.at("vae.decoded"));
    const double moments =
        ref::max_abs_diff(vae.encode_moments(refs.at("vae.x")), refs.at("vae.moments"));
    EXPECT_LT(decoded, 1e-4);
    EXPECT_LT(moments, 1e-4);
    std::cout << "[ vae     ] " << name << ": decoded max diff " << decoded << ", moments max diff "
              << moments << "\n";
  }
}

TEST(SdVae, EncodeGivesTheMeanOrASeededSample) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  const auto dir = ref::layouts_dir() / "tiny";
  CheckpointFile file = read_checkpoint(dir / "tiny_sd15.safetensors");
  VaeModel vae(file.weights, kPrefix, VaeConfig::infer(file.weights, kPrefix));
  const torch::Tensor x = ref::read_all(dir / "tiny_sd15_ref.safetensors").at("vae.x");
  const torch::Tensor moments = vae.encode_moments(x);
  EXPECT_TRUE(torch::equal(vae.encode(x), moments.slice(1, 0, 4)));
  auto sample = [&](uint64_t seed) { return vae.encode(x, at::detail::createCPUGenerator(seed)); };
  const torch::Tensor a = sample(7), b = sample(7), c = sample(8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  // The sample's spread is the encoder's: (a - mean) / std is standard noise.
  const torch::Tensor noise =
      (a - moments.slice(1, 0, 4)) / torch::exp(0.5 * moments.slice(1, 4, 8).clamp(-30, 20));
  EXPECT_NEAR(noise.std().item<double>(), 1.0, 0.15);
}

TEST(SdVae, AcceptsAttentionProjectionsStoredAsLinearWeights) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  const auto dir = ref::layouts_dir() / "tiny";
  auto tensors = ref::read_all(dir / "tiny_sdxl.safetensors");
  Weights conv_form(tensors, "conv");
  for (const char* part : {"encoder", "decoder"})
    for (const char* proj : {"q", "k", "v", "proj_out"}) {
      torch::Tensor& t = tensors.at(kPrefix + part + ".mid.attn_1." + proj + ".weight");
      t = t.reshape({t.size(0), t.size(1)});
    }
  Weights linear_form(tensors, "linear");
  VaeModel a(conv_form, kPrefix, VaeConfig::infer(conv_form, kPrefix));
  VaeModel b(linear_form, kPrefix, VaeConfig::infer(linear_form, kPrefix));
  EXPECT_EQ(unused_under(linear_form, kPrefix), std::vector<std::string>{});
  const torch::Tensor z = ref::read_all(dir / "tiny_sdxl_ref.safetensors").at("vae.z");
  EXPECT_TRUE(torch::equal(a.decode(z), b.decode(z)));
}

TEST(SdVae, TiledDecodeStaysCloseToAWholeDecodeAndIsExactForOneTile) {
  SKIP_WITHOUT_SD_LAYOUTS();
  torch::NoGradGuard no_grad;
  CheckpointFile file = read_checkpoint(ref::layouts_dir() / "tiny" / "tiny_sd15.safetensors");
  VaeModel vae(file.weights, kPrefix, VaeConfig::infer(file.weights, kPrefix));
  torch::manual_seed(20240601);
  const torch::Tensor z = torch::randn({1, 4, 24, 24});

  EXPECT_TRUE(torch::equal(vae.decode_tiled(z.slice(2, 0, 8).slice(3, 0, 8), 8, 4),
                           vae.decode(z.slice(2, 0, 8).slice(3, 0, 8))));

  const torch::Tensor whole = vae.decode(z), tiled = vae.decode_tiled(z, 8, 4);
  ASSERT_EQ(tiled.sizes(), whole.sizes());
  const double max_diff = ref::max_abs_diff(tiled, whole);
  const double mean_diff = (tiled - whole).abs().mean().item<double>();
  std::cout << "[ vae     ] tiled 24x24 latent (tile 8, overlap 4): max diff " << max_diff
            << ", mean diff " << mean_diff << ", output range " << whole.min().item<double>()
            << ".." << whole.max().item<double>() << "\n";
  EXPECT_LT(max_diff, 1.0);
  EXPECT_LT(mean_diff, 1.0);
}

TEST(SdVae, BuildsFullSizeFromInventoriesTakingEveryParameter) {
  SKIP_WITHOUT_SD_LAYOUTS();
  for (const char* inv : {"sd15.json", "sd21v.json", "sdxl_base.json"}) {
    SCOPED_TRACE(inv);
    Weights w = Weights::from_shapes(inventory_shapes(inv), inv);
    VaeConfig c = VaeConfig::infer(w, kPrefix);
    EXPECT_EQ(c.ch, 128);
    EXPECT_EQ(c.ch_mult, (std::vector<int64_t>{1, 2, 4, 4}));
    EXPECT_EQ(c.attn, (std::vector<bool>{false, false, false, false}));
    EXPECT_EQ(c.num_res_blocks, 2);
    EXPECT_EQ(c.z_channels, 4);
    EXPECT_EQ(c.embed_dim, 4);
    VaeModel vae(w, kPrefix, c);
    EXPECT_EQ(vae.downscale_factor(), 8);
    EXPECT_EQ(unused_under(w, kPrefix), std::vector<std::string>{});
  }
}

TEST(SdVae, AContradictingShapeIsNamedAtConstruction) {
  SKIP_WITHOUT_SD_LAYOUTS();
  auto shapes = inventory_shapes("sd15.json");
  shapes.at(kPrefix + "decoder.up.1.block.0.conv1.weight") = {256, 384, 3, 3};
  Weights w = Weights::from_shapes(shapes, "sd15.safetensors");
  try {
    VaeModel vae(w, kPrefix, VaeConfig::infer(w, kPrefix));
    FAIL() << "built with a contradicting shape";
  } catch (const WeightError& e) {
    EXPECT_STREQ(e.what(),
                 "sd15.safetensors: first_stage_model.decoder.up.1.block.0.conv1.weight: "
                 "expected shape [256, 512, 3, 3], found [256, 384, 3, 3]");
  }
}
