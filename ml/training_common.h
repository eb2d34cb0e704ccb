// What the base-model and LoRA trainers share: the AdamW update (moments kept as
// plain tensors so a checkpoint can store and restore them exactly), the
// per-step seed mixer that makes every step's data a function of (seed, step)
// only, the learning-rate schedule, and the diffusion training loss
// (v- or epsilon-prediction with min-SNR weighting).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ml/diffusion_model.h"

namespace atelier::ml {

// A 64-bit mixer (splitmix64 finaliser): independent streams per (a, b).
uint64_t mix_seed(uint64_t a, uint64_t b);

// Linear warm-up over `warmup` steps, then cosine decay to 0.1 x peak at `steps`.
double warmup_cosine_lr(double peak, int warmup, int steps, int step);

struct AdamW {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  std::vector<torch::Tensor> m, v;
  void init(const std::vector<torch::Tensor>& params);
  // t: 1-based step count (bias correction). Parameters without a gradient are skipped.
  void step(const std::vector<torch::Tensor>& params, double lr, int t);
};

// The per-timestep constants of the loss for one model's schedule.
class DiffusionLoss {
 public:
  DiffusionLoss(const DiffusionModel& model, double min_snr_gamma);
  // Noises x0 (B, C, H, W) at random timesteps drawn from `gen` and returns the
  // weighted mean squared error of the model's prediction.
  torch::Tensor operator()(DiffusionModel& model, const torch::Tensor& x0,
                           const std::vector<std::string>& captions, at::Generator& gen) const;

  // The same in two parts, so that a batch's rows can be spread over threads with
  // the same draws: the timesteps (B) and noise (like x0) from `gen`, then each
  // row's weighted squared error (B) for rows of x0 and their draws.
  std::pair<torch::Tensor, torch::Tensor> draw(const torch::Tensor& x0, at::Generator& gen) const;
  torch::Tensor row_errors(DiffusionModel& model, const torch::Tensor& x0,
                           const std::vector<std::string>& captions, const torch::Tensor& t,
                           const torch::Tensor& noise) const;

 private:
  bool v_prediction_;
  int timesteps_;
  torch::Tensor alpha_bar_, weight_;
};

// Lower-case hex sha256 of a file's bytes.
std::string sha256_file_hex(const std::filesystem::path& p);

}  // namespace atelier::ml
