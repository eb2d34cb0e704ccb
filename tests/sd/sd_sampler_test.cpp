// Sigma grids, sampler steps and the k-diffusion denoiser around the UNet,
// against tests/sd/reference/sampler_steps.py: an independent Python
// implementation of the published algorithms (k-diffusion's discrete grid,
// Karras et al. 2022, DDIM trailing timesteps, Euler / Euler ancestral,
// DPM-Solver++ 2M, LCM) run on a fixed toy denoiser and on the tiny UNets.
//
// The script runs once per test binary (/usr/bin/python3, needs torch); the
// tests skip saying so when torch is not importable. Steps are compared one
// at a time: the state after k steps is sample() over the first k+1 sigmas,
// with the same fixed noise tensors (one per step) for the stochastic samplers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "ml/noise_schedule.h"
#include "ml/safetensors.h"
#include "ml/samplers.h"
#include "ml/sd/sd_generate.h"
#include "ml/sd/sd_model.h"
#include "ml/tensor_io.h"
#include "sd_refs.h"

using namespace atelier::ml;
namespace fs = std::filesystem;
namespace ref = atelier::test::sd;

namespace {

constexpr double kTol = 1e-5;
const char* kPython = "/usr/bin/python3";

fs::path script_dir() {
  return fs::path(ATELIER_SOURCE_DIR) / "tests/sd/reference";
}

bool python_has_torch() {
  static const bool ok =
      std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
  return ok;
}

// The script's output (computed once), every tensor as stored (F64 stays F64).
const std::map<std::string, torch::Tensor>& reference() {
  static const std::map<std::string, torch::Tensor> tensors = [] {
    const fs::path out = fs::temp_directory_path() /
                         ("atelier_sampler_steps_" + std::to_string(::getpid()) + ".safetensors");
    std::string cmd = std::string(kPython) + " " + (script_dir() / "sampler_steps.py").string() +
                      " " + out.string();
    if (ref::have_layouts()) cmd += " " + (ref::layouts_dir() / "tiny").string();
    std::map<std::string, torch::Tensor> m;
    if (std::system(cmd.c_str()) != 0) return m;
    auto f = SafetensorsFile::read(out);
    for (const auto& info : f.tensors()) m.emplace(info.name, to_tensor(f, info));
    fs::remove(out);
    return m;
  }();
  return tensors;
}

#define SKIP_WITHOUT_PYTHON_TORCH()                                           \
  if (!python_has_torch())                                                    \
    GTEST_SKIP() << kPython                                                   \
                 << " cannot import torch: the Python reference "             \
                    "(tests/sd/reference/sampler_steps.py) needs it (Debian " \
                    "python3-torch)";                                         \
  ASSERT_FALSE(reference().empty()) << "tests/sd/reference/sampler_steps.py failed"

const torch::Tensor& get(const std::string& name) {
  auto it = reference().find(name);
  if (it == reference().end()) throw std::runtime_error("reference lacks " + name);
  return it->second;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  if (a.size() != b.size()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

NoiseSchedule sd_schedule() {
  return NoiseSchedule::scaled_linear(0.00085, 0.012, 1000);
}

}  // namespace

TEST(SdSampler, SigmaGridsMatchTheReference) {
  SKIP_WITHOUT_PYTHON_TORCH();
  const NoiseSchedule s = sd_schedule();
  for (int n : {1, 2, 4, 6, 20, 30}) {
    SCOPED_TRACE("steps " + std::to_string(n));
    EXPECT_LT(max_diff(linspace_sigmas(s, n), to_vector(get("grid.linspace." + std::to_string(n)))),
              kTol);
    EXPECT_LT(max_diff(karras_sigmas(s, n), to_vector(get("grid.karras." + std::to_string(n)))),
              kTol);
    EXPECT_LT(max_diff(ddim_sigmas(s, n), to_vector(get("grid.ddim." + std::to_string(n)))), kTol);
    // What a sampler choice walks: its own grid, or Karras when asked.
    EXPECT_EQ(sampler_sigmas(SamplerChoice{SamplerKind::ddim, SigmaGrid::automatic}, s, n),
              ddim_sigmas(s, n));
    EXPECT_EQ(sampler_sigmas(SamplerChoice{SamplerKind::euler_a, SigmaGrid::automatic}, s, n),
              linspace_sigmas(s, n));
    EXPECT_EQ(sampler_sigmas(SamplerChoice{SamplerKind::dpmpp_2m, SigmaGrid::karras}, s, n),
              karras_sigmas(s, n));
  }
}

TEST(SdSampler, EveryStepOfEverySamplerMatchesTheReference) {
  SKIP_WITHOUT_PYTHON_TORCH();
  const NoiseSchedule s = sd_schedule();
  const torch::Tensor b = get("toy.b"), x0 = get("toy.x0");
  const Denoiser toy = [&](const torch::Tensor& x, double sigma) {
    return x / (1.0 + sigma * sigma) + b * (sigma / (1.0 + sigma));
  };
  struct Case {
    const char* name;
    SamplerChoice choice;
  };
  const int steps = 6;
  for (const Case& c : {Case{"euler", {SamplerKind::euler, SigmaGrid::automatic}},
                        Case{"euler_a", {SamplerKind::euler_a, SigmaGrid::automatic}},
                        Case{"ddim", {SamplerKind::ddim, SigmaGrid::automatic}},
                        Case{"dpmpp_2m", {SamplerKind::dpmpp_2m, SigmaGrid::automatic}},
                        Case{"dpmpp_2m_karras", {SamplerKind::dpmpp_2m, SigmaGrid::karras}},
                        Case{"lcm", {SamplerKind::lcm, SigmaGrid::automatic}}}) {
    SCOPED_TRACE(c.name);
    const std::vector<double> sigmas = sampler_sigmas(c.choice, s, steps);
    ASSERT_LT(max_diff(sigmas, to_vector(get(std::string("sample.") + c.name + ".sigmas"))), kTol);
    double worst = 0;
    for (int k = 1; k <= steps; ++k) {
      SCOPED_TRACE("after step " + std::to_string(k));
      int drawn = 0;
      const NoiseSource noise = [&] { return get("noise." + std::to_string(drawn++)); };
      const std::vector<double> first(sigmas.begin(), sigmas.begin() + k + 1);
      auto x = sample(c.choice.kind, toy, x0 * sigmas[0], first, noise);
      const auto& want = get(std::string("sample.") + c.name + "." + std::to_string(k));
      const double diff = ref::max_abs_diff(x, want);
      worst = std::max(worst, diff);
      EXPECT_LT(diff, kTol);
      // Only the samplers that re-noise draw, once per step before sigma 0.
      const bool stochastic =
          c.choice.kind == SamplerKind::euler_a || c.choice.kind == SamplerKind::lcm;
      EXPECT_EQ(drawn, stochastic ? std::min(k, steps - 1) : 0);
    }
    RecordProperty(std::string(c.name) + "_max_abs_diff", sci(worst));
    // Every sampler ends on the denoiser's output at the last nonzero sigma.
    EXPECT_EQ(sigmas.back(), 0.0);
  }
}

TEST(SdSampler, DenoiserAroundTheTinyUNetsMatchesTheReference) {
  SKIP_WITHOUT_SD_LAYOUTS();
  SKIP_WITHOUT_PYTHON_TORCH();
  torch::NoGradGuard no_grad;
  const auto tiny = ref::layouts_dir() / "tiny";
  const torch::Tensor x = get("denoise.x");
  const std::vector<double> sigmas = to_vector(get("denoise.sigmas"));
  for (const char* ck : {"tiny_sd15", "tiny_sd21v", "tiny_sdxl"}) {
    SCOPED_TRACE(ck);
    auto m = sd::load_sd_model(tiny / (std::string(ck) + ".safetensors"));
    auto r = ref::read_all(tiny / (std::string(ck) + "_ref.safetensors"));
    EXPECT_EQ(m->prediction,
              std::string(ck) == "tiny_sd21v" ? sd::Prediction::v : sd::Prediction::epsilon);
    const torch::Tensor y = r.count("unet.y") ? r.at("unet.y") : torch::Tensor();
    for (size_t j = 0; j < sigmas.size(); ++j) {
      const double s = sigmas[j];
      SCOPED_TRACE("sigma " + std::to_string(s));
      auto d = sd::sd_denoise(*m, x * std::sqrt(1 + s * s), s, r.at("unet.context"), y);
      const double diff =
          ref::max_abs_diff(d, get(std::string("denoise.") + ck + "." + std::to_string(j)));
      EXPECT_LT(diff, 1e-4);
      RecordProperty(std::string(ck) + "_sigma_" + std::to_string(j), sci(diff));
    }
  }
}
