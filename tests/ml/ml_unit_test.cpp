// Pure ML pieces against hand-computed values: noise schedule, sigma grids,
// sampler steps, tokenizer; model files (round trip and strict loading);
// generation determinism (one and two threads) and request validation; the
// row-sliced parallel map.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "ml/diffusion_model.h"
#include "ml/generator.h"
#include "ml/group_norm_silu.h"
#include "ml/noise_schedule.h"
#include "ml/row_parallel.h"
#include "ml/safetensors.h"
#include "ml/samplers.h"
#include "ml/tensor_io.h"
#include "ml/tokenizer.h"
#include "support/tiny_model.h"

using namespace atelier::ml;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("atelier-ml-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
double v(const torch::Tensor& t) {
  return t.item<double>();
}
}  // namespace

TEST(NoiseSchedule, CosineMatchesTheClosedForm) {
  auto s = NoiseSchedule::make("cosine", 1000);
  auto f = [](double t) { return std::pow(std::cos((t + 0.008) / 1.008 * M_PI / 2), 2); };
  EXPECT_NEAR(s.alpha_bar(0), f(0.001) / f(0), 1e-12);
  EXPECT_NEAR(s.alpha_bar(499), f(0.5) / f(0), 1e-9);
  EXPECT_NEAR(s.sigma(499), std::sqrt((1 - s.alpha_bar(499)) / s.alpha_bar(499)), 1e-12);
  for (int t = 1; t < 1000; ++t) ASSERT_LT(s.alpha_bar(t), s.alpha_bar(t - 1));
}

TEST(NoiseSchedule, LinearMatchesDdpm) {
  auto s = NoiseSchedule::make("linear", 1000);
  EXPECT_NEAR(s.alpha_bar(0), 1 - 1e-4, 1e-12);
  EXPECT_NEAR(s.alpha_bar(1), (1 - 1e-4) * (1 - (1e-4 + (0.02 - 1e-4) / 999)), 1e-12);
}

TEST(NoiseSchedule, FractionalTimestepsInterpolateLogSigmaAndInvert) {
  auto s = NoiseSchedule::make("cosine", 1000);
  EXPECT_NEAR(s.sigma_at(10.5), std::sqrt(s.sigma(10) * s.sigma(11)), 1e-12);
  for (double t : {0.0, 3.25, 500.0, 998.5}) EXPECT_NEAR(s.timestep_of(s.sigma_at(t)), t, 1e-9);
}

TEST(NoiseSchedule, SigmaGrids) {
  auto s = NoiseSchedule::make("cosine", 1000);
  auto d = ddim_sigmas(s, 4);  // trailing: 999, 749, 499, 249, then 0
  ASSERT_EQ(d.size(), 5u);
  EXPECT_DOUBLE_EQ(d[0], s.sigma(999));
  EXPECT_DOUBLE_EQ(d[1], s.sigma(749));
  EXPECT_DOUBLE_EQ(d[3], s.sigma(249));
  EXPECT_EQ(d[4], 0.0);
  auto l = linspace_sigmas(s, 3);                        // 999, 499.5, 0, then 0
  EXPECT_NEAR(l[0], s.sigma(999), 1e-9 * s.sigma(999));  // via exp(log sigma)
  EXPECT_NEAR(l[1], s.sigma_at(499.5), 1e-12);
  EXPECT_NEAR(l[2], s.sigma(0), 1e-12);
  EXPECT_EQ(l[3], 0.0);
}

TEST(Samplers, EulerStepByHand) {
  // d = (x - D) / sigma = (1 - 0.2) / 2 = 0.4; x' = 1 + 0.4 * (1 - 2) = 0.6
  auto x = torch::full({1}, 1.0), den = torch::full({1}, 0.2);
  EXPECT_NEAR(v(euler_step(x, den, 2.0, 1.0)), 0.6, 1e-6);
}

TEST(Samplers, AncestralSplitByHand) {
  // up = min(1, sqrt(1 * (4 - 1) / 4)) = sqrt(0.75); down = sqrt(1 - 0.75) = 0.5
  auto [down, up] = ancestral_step(2.0, 1.0);
  EXPECT_NEAR(up, std::sqrt(0.75), 1e-12);
  EXPECT_NEAR(down, 0.5, 1e-12);
  auto [d0, u0] = ancestral_step(2.0, 0.0);
  EXPECT_EQ(d0, 0.0);
  EXPECT_EQ(u0, 0.0);
}

TEST(Samplers, DpmPlusPlus2MStepsByHand) {
  auto x = torch::full({1}, 1.0), den = torch::full({1}, 0.2), old = torch::full({1}, 0.0);
  // First order: h = ln 2, x' = (1/2) x - expm1(-ln 2) D = 0.5 + 0.5 * 0.2 = 0.6
  EXPECT_NEAR(v(dpmpp_2m_step(x, den, nullptr, 0, 2.0, 1.0)), 0.6, 1e-6);
  // Second order with sigma_prev 4: r = 1, D' = 1.5 * 0.2 - 0.5 * 0 = 0.3; x' = 0.5 + 0.15
  EXPECT_NEAR(v(dpmpp_2m_step(x, den, &old, 4.0, 2.0, 1.0)), 0.65, 1e-6);
  // The last step (sigma 0) returns the denoised estimate.
  EXPECT_NEAR(v(dpmpp_2m_step(x, den, &old, 4.0, 2.0, 0.0)), 0.2, 1e-7);
}

TEST(Samplers, EverySamplerLandsOnAConstantDenoisersTarget) {
  auto s = NoiseSchedule::make("cosine", 1000);
  Denoiser d = [](const torch::Tensor& x, double) { return torch::full_like(x, 0.25); };
  NoiseSource noise = [] { return torch::ones({2}); };
  for (auto k :
       {SamplerKind::ddim, SamplerKind::euler, SamplerKind::euler_a, SamplerKind::dpmpp_2m}) {
    auto sig = sampler_sigmas(k, s, 5);
    int calls = 0;
    auto out = sample(k, d, torch::full({2}, 3.0), sig, noise, [&](int, int) { ++calls; });
    EXPECT_EQ(calls, 5) << sampler_display_name(k);
    EXPECT_NEAR(out[0].item<double>(), 0.25, 1e-6) << sampler_display_name(k);
  }
}

TEST(Samplers, NamesParseInBothSpellings) {
  EXPECT_EQ(parse_sampler("Euler a"), SamplerKind::euler_a);
  EXPECT_EQ(parse_sampler("dpmpp_2m"), SamplerKind::dpmpp_2m);
  try {
    parse_sampler("PLMS");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown sampler 'PLMS'"), std::string::npos);
  }
}

TEST(Tokenizer, NormalisesSplitsAndPads) {
  EXPECT_EQ(Tokenizer::words("Flag: Germany"), (std::vector<std::string>{"flag", "germany"}));
  Tokenizer t({"flag", "germany"});
  EXPECT_EQ(t.encode("FLAG germany, ufo", 6), (std::vector<int64_t>{2, 3, 4, 1, 0, 0}));
  EXPECT_EQ(t.encode("", 3), (std::vector<int64_t>{2, 0, 0}));
  EXPECT_EQ(t.encode("flag flag flag flag", 3), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(t.unknown_words("flag ufo"), (std::vector<std::string>{"ufo"}));
  auto b = Tokenizer::build({"b a", "a c", "a"});
  EXPECT_EQ(b.vocabulary(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ModelFile, RoundTripsAndLoadsStrictly) {
  auto dir = temp_dir("model");
  auto path = atelier::test::write_tiny_model(dir);
  auto a = load_model(path);
  auto b = load_model(path);
  torch::manual_seed(1);
  auto x = torch::randn({1, 3, 16, 16});
  auto enc = a.model->encode({"red apple"});
  auto ya = a.model->denoise(x, 1.5, enc);
  auto yb = b.model->denoise(x, 1.5, b.model->encode({"red apple"}));
  EXPECT_TRUE(torch::equal(ya, yb));
  EXPECT_EQ(a.metadata.at("atelier.name"), "tiny");

  auto file = SafetensorsFile::read(path);
  auto rewrite = [&](const std::string& name, auto edit) {
    NamedTensors t;
    auto md = file.metadata();
    for (const auto& info : file.tensors()) t.emplace_back(info.name, to_tensor(file, info));
    edit(t, md);
    auto p = dir / name;
    save_tensors(p, t, md);
    return p;
  };
  auto expect_error = [](const fs::path& p, const std::string& phrase) {
    try {
      load_model(p);
      ADD_FAILURE() << p << " loaded";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
  };
  expect_error(rewrite("missing.safetensors", [](NamedTensors& t, auto&) { t.pop_back(); }),
               "is missing");
  expect_error(rewrite("shape.safetensors",
                       [](NamedTensors& t, auto&) {
                         t[0].second = torch::zeros({3, 3, 3});
                       }),
               "has shape");
  expect_error(
      rewrite("extra.safetensors",
              [](NamedTensors& t, auto&) { t.emplace_back("unet.bogus", torch::zeros({1})); }),
      "not part of this model");
  expect_error(rewrite("format.safetensors",
                       [](NamedTensors&, auto& md) { md["atelier.format"] = "something-else/9"; }),
               "model format");
  expect_error(rewrite("config.safetensors",
                       [](NamedTensors&, auto& md) {
                         md["atelier.config"] = R"({"channels": [8, 16], "heads": 999})";
                       }),
               "heads");
  expect_error(rewrite("nometa.safetensors", [](NamedTensors&, auto& md) { md.clear(); }),
               "not an Atelier diffusion model");
  fs::remove_all(dir);
}

TEST(Generate, SameSeedSamePixelsDifferentSeedDifferentPixels) {
  auto dir = temp_dir("gen");
  auto m = load_model(atelier::test::write_tiny_model(dir)).model;
  at::set_num_threads(1);
  for (auto sampler :
       {SamplerKind::ddim, SamplerKind::euler, SamplerKind::euler_a, SamplerKind::dpmpp_2m}) {
    GenerateRequest r;
    r.prompt = "red apple";
    r.negative_prompt = "flag";
    r.count = 2;
    r.steps = 4;
    r.seed = 42;
    r.sampler = sampler;
    auto a = generate(m, r);
    auto b = generate(m, r);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].pixels, b[0].pixels) << sampler_display_name(sampler);
    EXPECT_EQ(a[1].pixels, b[1].pixels);
    EXPECT_NE(a[0].pixels, a[1].pixels);  // seed 42 vs 43
    r.seed = 7;
    EXPECT_NE(generate(m, r)[0].pixels, a[0].pixels);
    // Image i is seed + i: asking for one image at seed 43 draws image 1 again.
    r.seed = 43;
    r.count = 1;
    r.batch = 1;
    auto c = generate(m, r);
    int maxdiff = 0;
    for (size_t i = 0; i < c[0].pixels.size(); ++i)
      maxdiff = std::max(maxdiff, std::abs(int(c[0].pixels[i]) - int(a[1].pixels[i])));
    EXPECT_LE(maxdiff, 1) << sampler_display_name(sampler);
  }
  fs::remove_all(dir);
}

TEST(GroupNormSilu, MatchesLibtorchOnChannelsLastMapsAndFallsBackElsewhere) {
  torch::manual_seed(3);
  for (auto [c, hw] : {std::pair{32, 32}, {64, 16}, {96, 7}, {128, 1}}) {
    torch::nn::GroupNorm gn(torch::nn::GroupNormOptions(8, c));
    {
      torch::NoGradGuard g;
      gn->weight.uniform_(0.5, 1.5);
      gn->bias.uniform_(-0.5, 0.5);
    }
    // Values well off zero mean and unit scale, and a few large ones that push
    // the exponential to its clamps.
    auto x = torch::randn({3, c, hw, hw}) * 4 + 2;
    x.view(-1).slice(0, 0, 5).fill_(300.0);
    x = x.contiguous(at::MemoryFormat::ChannelsLast);
    c10::InferenceMode im;
    for (bool silu : {true, false}) {
      auto want = silu ? torch::silu(gn(x)) : gn(x);
      auto got = group_norm_silu(x, gn, silu);
      EXPECT_TRUE(got.is_contiguous(at::MemoryFormat::ChannelsLast));
      EXPECT_LT((got - want).abs().max().item<double>(), 1e-4) << c << "x" << hw << " " << silu;
    }
  }
  // With autograd on, the result is libtorch's own and carries a gradient.
  torch::nn::GroupNorm gn(torch::nn::GroupNormOptions(8, 16));
  auto x = torch::randn({2, 16, 4, 4}).contiguous(at::MemoryFormat::ChannelsLast);
  auto y = group_norm_silu(x, gn);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_TRUE(torch::allclose(y, torch::silu(gn(x))));
}

TEST(RowParallel, SlicesCoverEveryRowOnceInOrderAndRestoreTheThreadCount) {
  at::set_num_threads(2);
  c10::InferenceMode im;
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> seen;
  std::vector<int> intra;
  auto out = map_row_slices(5, 2, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> l(mu);
    seen.emplace_back(b, e);
    intra.push_back(at::get_num_threads());
    EXPECT_TRUE(c10::InferenceMode::is_enabled());  // carried into the slice thread
    return torch::arange(b, e, torch::kInt64);
  });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, int64_t>>{{0, 2}, {2, 5}}));
  EXPECT_EQ(intra, (std::vector<int>{1, 1}));
  EXPECT_TRUE(torch::equal(out, torch::arange(0, 5, torch::kInt64)));
  EXPECT_EQ(at::get_num_threads(), 2);
  // One row, or one thread: no threads at all.
  EXPECT_EQ(
      map_row_slices(1, 2, [](int64_t b, int64_t e) { return torch::full({1}, double(e - b)); })
          .item<double>(),
      1.0);
  at::set_num_threads(1);
}

TEST(RowParallel, AnExceptionInOneSliceReachesTheCallerAfterAllFinish) {
  at::set_num_threads(2);
  std::atomic<int> finished{0};
  try {
    map_row_slices(4, 2, [&](int64_t b, int64_t e) {
      if (b == 0) throw std::runtime_error("slice 0 failed");
      ++finished;
      return torch::zeros({e - b});
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "slice 0 failed");
  }
  EXPECT_EQ(finished.load(), 1);
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(1);
}

TEST(Generate, TwoThreadsAreDeterministicAndAgreeWithOne) {
  auto dir = temp_dir("gen2");
  auto m = load_model(atelier::test::write_tiny_model(dir)).model;
  GenerateRequest r;
  r.prompt = "red apple";
  r.count = 3;  // 6 guided rows: slices of 3
  r.steps = 4;
  r.seed = 5;
  at::set_num_threads(1);
  auto one = generate(m, r);
  at::set_num_threads(2);
  auto a = generate(m, r);
  auto b = generate(m, r);
  at::set_num_threads(1);
  ASSERT_EQ(a.size(), 3u);
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].pixels, b[k].pixels) << k;
    int maxdiff = 0;
    for (size_t i = 0; i < a[k].pixels.size(); ++i)
      maxdiff = std::max(maxdiff, std::abs(int(a[k].pixels[i]) - int(one[k].pixels[i])));
    EXPECT_LE(maxdiff, 1) << k;
  }
  fs::remove_all(dir);
}

TEST(Generate, ScalesToSupportedSizesAndRefusesOthers) {
  auto dir = temp_dir("size");
  auto m = load_model(atelier::test::write_tiny_model(dir)).model;
  GenerateRequest r;
  r.prompt = "face";
  r.steps = 2;
  r.size = 64;
  auto img = generate(m, r);
  EXPECT_EQ(img[0].width, 64);
  EXPECT_EQ(img[0].height, 64);
  r.size = 33;
  try {
    generate(m, r);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "size: 33 is not supported by this model (supported: 16, 32, 64, 128)"),
              std::string::npos)
        << e.what();
  }
  r.size = 0;
  r.steps = 0;
  EXPECT_THROW(generate(m, r), std::invalid_argument);
  fs::remove_all(dir);
}
