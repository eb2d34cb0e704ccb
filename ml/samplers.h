// Diffusion samplers in the k-diffusion formulation: the state is x~ = x_t / alpha
// and a denoiser D(x~, sigma) returns the predicted clean image. DDIM (eta 0) is
// the first-order step on the trailing integer-timestep grid; Euler the same
// step on k-diffusion's linspace grid; Euler a adds fresh noise each step
// (ancestral); DPM++ 2M is the second-order multistep solver; LCM (for
// latent-consistency models) jumps to the denoiser's output and re-noises to the
// next sigma. All of them end at sigma 0, so the last step returns the
// denoiser's output.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "ml/noise_schedule.h"

namespace atelier::ml {

enum class SamplerKind { ddim, euler, euler_a, dpmpp_2m, lcm };

// Accepts A1111 names ("DDIM", "Euler", "Euler a", "DPM++ 2M", "LCM") and our
// ids ("ddim", "euler", "euler_a", "dpmpp_2m", "lcm"); throws
// std::invalid_argument otherwise.
SamplerKind parse_sampler(const std::string& name);
std::string sampler_display_name(SamplerKind k);  // the A1111 name
std::vector<std::string> sampler_names();

// Which sigmas a sampler walks: its own grid, or Karras et al.'s (A1111's
// "Schedule type: Karras").
enum class SigmaGrid { automatic, karras };
struct SamplerChoice {
  SamplerKind kind = SamplerKind::euler;
  SigmaGrid grid = SigmaGrid::automatic;
};
// A sampler name, optionally followed by " Karras" as A1111 named them before
// it had a separate schedule type ("DPM++ 2M Karras").
SamplerChoice parse_sampler_choice(const std::string& name);
std::string sigma_grid_name(SigmaGrid g);  // "Automatic", "Karras"
// The A1111 name parse_sampler_choice reads back: "DPM++ 2M Karras".
std::string sampler_choice_name(const SamplerChoice& c);
std::vector<double> sampler_sigmas(const SamplerChoice& c, const NoiseSchedule& s, int steps);

using Denoiser = std::function<torch::Tensor(const torch::Tensor& x, double sigma)>;
using NoiseSource = std::function<torch::Tensor()>;  // standard normal, shaped like x
using StepCallback = std::function<void(int step, int steps)>;

std::vector<double> sampler_sigmas(SamplerKind k, const NoiseSchedule& s, int steps);

// Runs the sampler from x (already scaled to sigmas[0]) down the sigma grid.
torch::Tensor sample(SamplerKind k, const Denoiser& denoise, torch::Tensor x,
                     const std::vector<double>& sigmas, const NoiseSource& noise,
                     const StepCallback& on_step = {});

// One step each, exposed for tests against hand-computed values.
torch::Tensor euler_step(const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                         double sigma_next);
// Returns {sigma_down, sigma_up} for an ancestral step with eta 1.
std::pair<double, double> ancestral_step(double sigma, double sigma_next);
torch::Tensor dpmpp_2m_step(const torch::Tensor& x, const torch::Tensor& denoised,
                            const torch::Tensor* old_denoised, double sigma_prev, double sigma,
                            double sigma_next);

}  // namespace atelier::ml
