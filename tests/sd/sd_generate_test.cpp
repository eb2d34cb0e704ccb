// Text-to-image and image-to-image end to end on random-weight checkpoints
// written at test time (tests/sd/tiny_checkpoint.h) with a CLIP-style test
// tokenizer: every family samples, the same request gives the same pixels,
// image i of a request is image 0 of a request seeded seed + i, and bad
// requests name their field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "ml/sd/clip_tokenizer.h"
#include "ml/sd/prompt_conditioning.h"
#include "ml/sd/prompt_weights.h"
#include "ml/sd/sd_generate.h"
#include "ml/sd/sd_model.h"
#include "sd/tiny_checkpoint.h"

using namespace atelier::ml;
using namespace atelier::ml::sd;
namespace fs = std::filesystem;
using atelier::test::sd::TinyFamily;

namespace {

class SdGenerate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("sd-generate-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    atelier::test::sd::write_test_tokenizer(*dir_ / "tokenizer", 1000);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::unique_ptr<SdModel> model(TinyFamily f, bool v = false) {
    auto c = atelier::test::sd::tiny(f);
    c.v_prediction = v;
    const fs::path file = *dir_ / ("m" + std::to_string(int(f)) + (v ? "v" : "") + ".safetensors");
    if (!fs::exists(file)) atelier::test::sd::write_sd_checkpoint(file, c, 11);
    return load_sd_model(file);
  }
  static std::unique_ptr<ClipTokenizer> tokenizer() {
    return load_clip_tokenizer(*dir_ / "tokenizer");
  }
  static SdRequest request() {
    SdRequest r;
    r.prompt = "a (red:1.2) bicycle, studio photo";
    r.negative_prompt = "blurry";
    r.width = 32;
    r.height = 24;
    r.steps = 3;
    r.cfg = 5.0;
    r.seed = 42;
    return r;
  }
  static fs::path* dir_;
};
fs::path* SdGenerate::dir_ = nullptr;

}  // namespace

TEST_F(SdGenerate, EveryFamilyDrawsReproducibleImagesOfTheAskedSize) {
  auto tok = tokenizer();
  for (TinyFamily f : {TinyFamily::sd1, TinyFamily::sd2, TinyFamily::sdxl}) {
    SCOPED_TRACE(int(f));
    auto m = model(f);
    SdRequest r = request();
    r.count = 2;
    auto a = generate_sd(*m, *tok, r);
    auto b = generate_sd(*m, *tok, r);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].sizes(), (std::vector<int64_t>{24, 32, 3}));
    EXPECT_EQ(a[0].scalar_type(), torch::kUInt8);
    EXPECT_TRUE(torch::equal(a[0], b[0]));
    EXPECT_TRUE(torch::equal(a[1], b[1]));
    EXPECT_FALSE(torch::equal(a[0], a[1]));  // seeds 42 and 43
    // Image 1 of the request is image 0 of a request seeded one higher.
    r.count = 1;
    r.seed = 43;
    EXPECT_TRUE(torch::equal(generate_sd(*m, *tok, r)[0], a[1]));
  }
}

TEST_F(SdGenerate, SamplersGuidanceAndPredictionChangeThePicture) {
  auto tok = tokenizer();
  auto m = model(TinyFamily::sd1);
  const auto base = generate_sd(*m, *tok, request())[0];
  for (const char* s : {"Euler", "DDIM", "DPM++ 2M", "DPM++ 2M Karras", "LCM"}) {
    SdRequest r = request();
    r.sampler = parse_sampler_choice(s);
    EXPECT_FALSE(torch::equal(generate_sd(*m, *tok, r)[0], base)) << s;
  }
  SdRequest unguided = request();
  unguided.cfg = 1.0;  // no unconditional pass (Turbo presets)
  EXPECT_FALSE(torch::equal(generate_sd(*m, *tok, unguided)[0], base));
  auto mv = model(TinyFamily::sd1, /*v=*/true);
  EXPECT_EQ(mv->prediction, Prediction::v);
  EXPECT_FALSE(torch::equal(generate_sd(*mv, *tok, request())[0], base));
}

TEST_F(SdGenerate, LongPromptsAndEmphasisReachTheContext) {
  auto tok = tokenizer();
  auto m = model(TinyFamily::sdxl);
  std::string long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt += "red bicycle, ";
  const size_t chunks =
      tokenize_weighted_prompt(*tok, long_prompt, Padding::end_token).chunks.size();
  ASSERT_GE(chunks, 2u);
  auto p = encode_prompts(*m, *tok, long_prompt, "", 0, {});
  // One 77-token block per chunk; the empty negative is padded to match.
  EXPECT_EQ(p.positive.context.size(1), int64_t(77 * chunks));
  EXPECT_EQ(p.negative.context.size(1), int64_t(77 * chunks));
  EXPECT_EQ(p.positive.y.size(1), m->unet->config().adm_in_channels);
  auto plain = encode_prompts(*m, *tok, "red bicycle", "", 0, {});
  auto weighted = encode_prompts(*m, *tok, "(red:1.5) bicycle", "", 0, {});
  EXPECT_EQ(plain.positive.context.size(1), 77);
  EXPECT_FALSE(torch::allclose(plain.positive.context, weighted.positive.context));
}

TEST_F(SdGenerate, ImageToImageKeepsMoreOfTheInputAtLowStrength) {
  auto tok = tokenizer();
  auto m = model(TinyFamily::sd1);
  SdRequest r = request();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(5));
  r.init_image = torch::rand({3, 24, 32}, gen) * 2 - 1;
  const auto input = ((r.init_image.clamp(-1, 1) + 1) * 127.5).round().permute({1, 2, 0});
  auto distance = [&](double strength) {
    r.strength = strength;
    auto out = generate_sd(*m, *tok, r)[0].to(torch::kFloat32);
    return (out - input).abs().mean().item<double>();
  };
  // A random VAE does not reconstruct, so only the ordering is asserted.
  EXPECT_LT(distance(0.2), distance(1.0));
}

TEST_F(SdGenerate, BadRequestsNameTheirField) {
  auto tok = tokenizer();
  auto m = model(TinyFamily::sd1);
  auto message = [&](SdRequest r) {
    try {
      validate_sd_request(r, *m);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  SdRequest r = request();
  r.width = 30;
  EXPECT_EQ(message(r), "size: width 30 must be a positive multiple of 4 for this model");
  r = request();
  r.steps = 0;
  EXPECT_EQ(message(r), "steps: must be at least 1");
  r = request();
  r.init_image = torch::zeros({3, 8, 8});
  EXPECT_EQ(message(r), "init image: must be 3 x 24 x 32");
  r = request();
  r.init_image = torch::zeros({3, 24, 32});
  r.strength = 0;
  EXPECT_EQ(message(r), "strength: must be in (0, 1]");
}
