// Noise schedules and sigma grids; see noise_schedule.h.
#include "ml/noise_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace atelier::ml {

NoiseSchedule NoiseSchedule::make(const std::string& kind, int timesteps) {
  if (timesteps < 2) throw std::invalid_argument("noise schedule needs at least 2 timesteps");
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
  for (double ab : s.alpha_bar_) {
    s.sigma_.push_back(std::sqrt((1.0 - ab) / ab));
    s.log_sigma_.push_back(std::log(s.sigma_.back()));
  }
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

}  // namespace atelier::ml
