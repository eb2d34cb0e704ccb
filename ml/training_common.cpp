#include "ml/training_common.h"

#include <sodium.h>

#include <cmath>
#include <fstream>
#include <iterator>

namespace atelier::ml {

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double warmup_cosine_lr(double peak, int warmup, int steps, int step) {
  if (step < warmup) return peak * (step + 1) / warmup;
  const double p = static_cast<double>(step - warmup) / std::max(1, steps - warmup);
  return peak * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * std::min(1.0, p))));
}

void AdamW::init(const std::vector<torch::Tensor>& params) {
  m.clear();
  v.clear();
  for (const auto& p : params) {
    m.push_back(torch::zeros_like(p));
    v.push_back(torch::zeros_like(p));
  }
}

void AdamW::step(const std::vector<torch::Tensor>& params, double lr, int t) {
  torch::NoGradGuard g;
  const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);
  for (size_t i = 0; i < params.size(); ++i) {
    auto& p = const_cast<torch::Tensor&>(params[i]);
    if (!p.grad().defined()) continue;
    m[i].mul_(beta1).add_(p.grad(), 1 - beta1);
    v[i].mul_(beta2).addcmul_(p.grad(), p.grad(), 1 - beta2);
    auto denom = (v[i] / c2).sqrt_().add_(eps);
    if (weight_decay > 0) p.mul_(1 - lr * weight_decay);
    p.addcdiv_(m[i], denom, -lr / c1);
  }
}

DiffusionLoss::DiffusionLoss(const DiffusionModel& model, double min_snr_gamma)
    : v_prediction_(model->config.prediction == "v"), timesteps_(model->schedule.timesteps()) {
  const auto& sched = model->schedule;
  std::vector<float> ab(static_cast<size_t>(timesteps_)), w(static_cast<size_t>(timesteps_));
  for (int t = 0; t < timesteps_; ++t) {
    ab[static_cast<size_t>(t)] = static_cast<float>(sched.alpha_bar(t));
    const double snr = sched.snr(t);
    // min-SNR-gamma: the epsilon-loss weight min(snr, gamma)/snr, expressed for
    // the v target, whose error is (snr + 1) times the epsilon error.
    w[static_cast<size_t>(t)] =
        static_cast<float>(v_prediction_ ? std::min(snr, min_snr_gamma) / (snr + 1)
                                         : std::min(snr, min_snr_gamma) / snr);
  }
  alpha_bar_ = torch::tensor(ab);
  weight_ = torch::tensor(w);
}

torch::Tensor DiffusionLoss::operator()(DiffusionModel& model, const torch::Tensor& x0,
                                        const std::vector<std::string>& captions,
                                        at::Generator& gen) const {
  const auto [t, noise] = draw(x0, gen);
  return row_errors(model, x0, captions, t, noise).mean();
}

std::pair<torch::Tensor, torch::Tensor> DiffusionLoss::draw(const torch::Tensor& x0,
                                                            at::Generator& gen) const {
  auto t = torch::randint(0, timesteps_, {x0.size(0)}, gen, torch::kInt64);
  auto noise = torch::randn(x0.sizes(), gen);
  return {t, noise};
}

torch::Tensor DiffusionLoss::row_errors(DiffusionModel& model, const torch::Tensor& x0,
                                        const std::vector<std::string>& captions,
                                        const torch::Tensor& t, const torch::Tensor& noise) const {
  auto a = alpha_bar_.index_select(0, t).sqrt().view({-1, 1, 1, 1});
  auto s = (1 - alpha_bar_.index_select(0, t)).sqrt().view({-1, 1, 1, 1});
  auto x_t = a * x0 + s * noise;
  auto target = v_prediction_ ? a * noise - s * x0 : noise;
  auto pred = model->predict(x_t, t.to(torch::kFloat32), model->encode(captions));
  auto per = (pred - target).pow(2).mean({1, 2, 3});
  return per * weight_.index_select(0, t);
}

std::string sha256_file_hex(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot read");
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    if (in.gcount() > 0)
      crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf),
                                static_cast<unsigned long long>(in.gcount()));
  }
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, h);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : h) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

}  // namespace atelier::ml
