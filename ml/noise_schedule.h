// The diffusion noise schedule in closed form, without torch: alpha_bar(t) for the
// integer training timesteps, and the k-diffusion view of the same schedule as
// sigma(t) = sqrt((1 - alpha_bar) / alpha_bar), with fractional timesteps found by
// interpolating log sigma. Samplers and training both read it from here, so the
// two can never disagree about what "timestep t" means.
#pragma once
#include <string>
#include <vector>

namespace atelier::ml {

class NoiseSchedule {
 public:
  // Nichol & Dhariwal cosine schedule (s = 0.008, betas clipped at 0.999), the
  // DDPM linear schedule (beta 1e-4 .. 0.02), or Stable Diffusion's
  // "scaled_linear" (sqrt(beta) linear from sqrt(0.00085) to sqrt(0.012)).
  static NoiseSchedule make(const std::string& kind, int timesteps);
  // Stable Diffusion's schedule with the given ends (an LDM config's
  // linear_start and linear_end).
  static NoiseSchedule scaled_linear(double beta_start, double beta_end, int timesteps);

  int timesteps() const { return static_cast<int>(alpha_bar_.size()); }
  double alpha_bar(int t) const { return alpha_bar_.at(static_cast<size_t>(t)); }
  double sigma(int t) const { return sigma_.at(static_cast<size_t>(t)); }
  // Sigma at a fractional timestep (log-linear between neighbours).
  double sigma_at(double t) const;
  // The fractional timestep whose sigma is `sigma` (inverse of sigma_at).
  double timestep_of(double sigma) const;

  // Signal-to-noise ratio alpha_bar / (1 - alpha_bar) at integer t.
  double snr(int t) const { return alpha_bar(t) / (1.0 - alpha_bar(t)); }

 private:
  static NoiseSchedule from_betas(const std::vector<double>& betas);
  void fill_sigmas();
  std::vector<double> alpha_bar_, sigma_, log_sigma_;
};

// Sigma grids for `steps` model evaluations, descending, ending with 0.
// "trailing" integer timesteps (DDIM): T-1, T-1-T/steps, ...
std::vector<double> ddim_sigmas(const NoiseSchedule& s, int steps);
// k-diffusion's discrete grid: timesteps linspace(T-1, 0, steps) (Euler, Euler a, DPM++).
std::vector<double> linspace_sigmas(const NoiseSchedule& s, int steps);
// Karras et al. (2022) grid between the schedule's smallest and largest sigma,
// evenly spaced in sigma^(1/rho) (A1111's "Karras" schedule type).
std::vector<double> karras_sigmas(const NoiseSchedule& s, int steps, double rho = 7.0);

}  // namespace atelier::ml
