// Sampler loops and their single steps; formulas follow k-diffusion
// (Karras et al. 2022; Lu et al. 2022 for DPM-Solver++ 2M).
#include "ml/samplers.h"

#include <cmath>
#include <stdexcept>

namespace atelier::ml {

SamplerKind parse_sampler(const std::string& name) {
  if (name == "DDIM" || name == "ddim") return SamplerKind::ddim;
  if (name == "Euler" || name == "euler") return SamplerKind::euler;
  if (name == "Euler a" || name == "euler_a") return SamplerKind::euler_a;
  if (name == "DPM++ 2M" || name == "dpmpp_2m") return SamplerKind::dpmpp_2m;
  if (name == "LCM" || name == "lcm") return SamplerKind::lcm;
  throw std::invalid_argument("unknown sampler '" + name +
                              "' (known: DDIM, Euler, Euler a, DPM++ 2M, LCM)");
}

std::string sampler_display_name(SamplerKind k) {
  switch (k) {
    case SamplerKind::ddim:
      return "DDIM";
    case SamplerKind::euler:
      return "Euler";
    case SamplerKind::euler_a:
      return "Euler a";
    case SamplerKind::dpmpp_2m:
      return "DPM++ 2M";
    case SamplerKind::lcm:
      return "LCM";
  }
  return "?";
}

std::vector<std::string> sampler_names() {
  return {"DDIM", "Euler", "Euler a", "DPM++ 2M", "LCM"};
}

SamplerChoice parse_sampler_choice(const std::string& name) {
  const std::string suffix = " Karras";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return {parse_sampler(name.substr(0, name.size() - suffix.size())), SigmaGrid::karras};
  return {parse_sampler(name), SigmaGrid::automatic};
}

std::string sigma_grid_name(SigmaGrid g) {
  return g == SigmaGrid::karras ? "Karras" : "Automatic";
}

std::string sampler_choice_name(const SamplerChoice& c) {
  return sampler_display_name(c.kind) + (c.grid == SigmaGrid::karras ? " Karras" : "");
}

std::vector<double> sampler_sigmas(const SamplerChoice& c, const NoiseSchedule& s, int steps) {
  return c.grid == SigmaGrid::karras ? karras_sigmas(s, steps) : sampler_sigmas(c.kind, s, steps);
}

std::vector<double> sampler_sigmas(SamplerKind k, const NoiseSchedule& s, int steps) {
  return k == SamplerKind::ddim ? ddim_sigmas(s, steps) : linspace_sigmas(s, steps);
}

torch::Tensor euler_step(const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                         double sigma_next) {
  // d = (x - D) / sigma; x' = x + d (sigma_next - sigma)
  return x + (x - denoised) * ((sigma_next - sigma) / sigma);
}

std::pair<double, double> ancestral_step(double sigma, double sigma_next) {
  if (sigma_next == 0) return {0.0, 0.0};
  const double up =
      std::min(sigma_next, std::sqrt(sigma_next * sigma_next *
                                     (sigma * sigma - sigma_next * sigma_next) / (sigma * sigma)));
  return {std::sqrt(sigma_next * sigma_next - up * up), up};
}

torch::Tensor dpmpp_2m_step(const torch::Tensor& x, const torch::Tensor& denoised,
                            const torch::Tensor* old_denoised, double sigma_prev, double sigma,
                            double sigma_next) {
  if (sigma_next == 0) return denoised;
  const double t = -std::log(sigma), t_next = -std::log(sigma_next);
  const double h = t_next - t;
  const double ratio = sigma_next / sigma, k = -std::expm1(-h);
  if (!old_denoised) return x * ratio + denoised * k;
  const double h_last = t - (-std::log(sigma_prev));
  const double r = h_last / h;
  auto d = denoised * (1 + 1 / (2 * r)) - *old_denoised * (1 / (2 * r));
  return x * ratio + d * k;
}

torch::Tensor sample(SamplerKind k, const Denoiser& denoise, torch::Tensor x,
                     const std::vector<double>& sigmas, const NoiseSource& noise,
                     const StepCallback& on_step) {
  const int steps = static_cast<int>(sigmas.size()) - 1;
  torch::Tensor old;
  for (int i = 0; i < steps; ++i) {
    const double s = sigmas[static_cast<size_t>(i)], sn = sigmas[static_cast<size_t>(i) + 1];
    auto den = denoise(x, s);
    switch (k) {
      case SamplerKind::ddim:
      case SamplerKind::euler:
        x = sn == 0 ? den : euler_step(x, den, s, sn);
        break;
      case SamplerKind::euler_a: {
        auto [down, up] = ancestral_step(s, sn);
        x = sn == 0 ? den : euler_step(x, den, s, down);
        if (sn > 0 && up > 0) x = x + noise() * up;
        break;
      }
      case SamplerKind::dpmpp_2m:
        x = dpmpp_2m_step(x, den, old.defined() ? &old : nullptr,
                          i > 0 ? sigmas[static_cast<size_t>(i) - 1] : 0.0, s, sn);
        old = den;
        break;
      case SamplerKind::lcm:
        x = den;
        if (sn > 0) x = x + noise() * sn;
        break;
    }
    if (on_step) on_step(i + 1, steps);
  }
  return x;
}

}  // namespace atelier::ml
