// Noise schedules and sigma grids; see noise_schedule.h.
#include "ml/noise_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace atelier::ml {

NoiseSchedule NoiseSchedule::scaled_linear(double beta_start, double beta_end, int timesteps) {
  if (timesteps < 2) throw std::invalid_argument("noise schedule needs at least 2 timesteps");
  if (!(beta_start > 0 && beta_end >= beta_start && beta_end < 1))
    throw std::invalid_argument("scaled_linear schedule needs 0 < beta_start <= beta_end < 1");
  std::vector<double> betas;
  const double a = std::sqrt(beta_start), b = std::sqrt(beta_end);
  for (int i = 0; i < timesteps; ++i) {
    const double r = a + (b - a) * i / (timesteps - 1.0);
    betas.push_back(r * r);
  }
  return from_betas(betas);
}

NoiseSchedule NoiseSchedule::from_betas(const std::vector<double>& betas) {
  NoiseSchedule s;
  double prod = 1.0;
  for (double beta : betas) {
    prod *= 1.0 - beta;
    s.alpha_bar_.push_back(prod);
  }
  s.fill_sigmas();
  return s;
}

void NoiseSchedule::fill_sigmas() {
  sigma_.clear();
  log_sigma_.clear();
  for (double ab : alpha_bar_) {
    sigma_.push_back(std::sqrt((1.0 - ab) / ab));
    log_sigma_.push_back(std::log(sigma_.back()));
  }
}

NoiseSchedule NoiseSchedule::make(const std::string& kind, int timesteps) {
  if (timesteps < 2) throw std::invalid_argument("noise schedule needs at least 2 timesteps");
  if (kind == "scaled_linear") return scaled_linear(0.00085, 0.012, timesteps);
  NoiseSchedule s;
  s.alpha_bar_.resize(static_cast<size_t>(timesteps));
  double prod = 1.0;
  const double T = timesteps;
  for (int i = 0; i < timesteps; ++i) {
    double beta;
    if (kind == "cosine") {
      auto f = [](double x) {
        const double v = std::cos((x + 0.008) / 1.008 * M_PI / 2);
        return v * v;
      };
      beta = std::min(1.0 - f((i + 1) / T) / f(i / T), 0.999);
    } else if (kind == "linear") {
      beta = 1e-4 + (0.02 - 1e-4) * i / (T - 1);
    } else {
      throw std::invalid_argument("unknown noise schedule '" + kind + "'");
    }
    prod *= 1.0 - beta;
    s.alpha_bar_[static_cast<size_t>(i)] = prod;
  }
  s.fill_sigmas();
  return s;
}

double NoiseSchedule::sigma_at(double t) const {
  const double hi = timesteps() - 1;
  t = std::clamp(t, 0.0, hi);
  const auto lo = static_cast<size_t>(std::floor(t));
  const auto up = std::min(lo + 1, log_sigma_.size() - 1);
  const double w = t - static_cast<double>(lo);
  return std::exp((1 - w) * log_sigma_[lo] + w * log_sigma_[up]);
}

double NoiseSchedule::timestep_of(double sigma) const {
  const double ls = std::log(std::max(sigma, 1e-12));
  if (ls <= log_sigma_.front()) return 0.0;
  if (ls >= log_sigma_.back()) return timesteps() - 1.0;
  // log sigma increases with t
  auto it = std::upper_bound(log_sigma_.begin(), log_sigma_.end(), ls);
  const auto hi = static_cast<size_t>(it - log_sigma_.begin());
  const auto lo = hi - 1;
  const double w = (ls - log_sigma_[lo]) / (log_sigma_[hi] - log_sigma_[lo]);
  return static_cast<double>(lo) + w;
}

std::vector<double> ddim_sigmas(const NoiseSchedule& s, int steps) {
  if (steps < 1) throw std::invalid_argument("steps must be at least 1");
  const int T = s.timesteps();
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    const int t = static_cast<int>(std::lround(T - i * static_cast<double>(T) / steps)) - 1;
    out.push_back(s.sigma(std::max(t, 0)));
  }
  out.push_back(0.0);
  return out;
}

std::vector<double> linspace_sigmas(const NoiseSchedule& s, int steps) {
  if (steps < 1) throw std::invalid_argument("steps must be at least 1");
  const double hi = s.timesteps() - 1;
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    const double t = steps == 1 ? hi : hi - hi * i / (steps - 1);
    out.push_back(s.sigma_at(t));
  }
  out.push_back(0.0);
  return out;
}

std::vector<double> karras_sigmas(const NoiseSchedule& s, int steps, double rho) {
  if (steps < 1) throw std::invalid_argument("steps must be at least 1");
  const double lo = std::pow(s.sigma(0), 1 / rho),
               hi = std::pow(s.sigma(s.timesteps() - 1), 1 / rho);
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    const double r = steps == 1 ? 0.0 : static_cast<double>(i) / (steps - 1);
    out.push_back(std::pow(hi + r * (lo - hi), rho));
  }
  out.push_back(0.0);
  return out;
}

}  // namespace atelier::ml
