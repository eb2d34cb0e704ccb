// A complete text-to-image model: tokenizer, text encoder, UNet denoiser and
// noise schedule, loadable from one safetensors file whose metadata holds the
// architecture ("atelier.config") and vocabulary ("atelier.vocab"). Loading is
// strict: every parameter must be present with the right shape, and a tensor the
// model does not have is an error, so a mismatched file never half-loads.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ml/model_config.h"
#include "ml/noise_schedule.h"
#include "ml/text_encoder.h"
#include "ml/tokenizer.h"
#include "ml/unet.h"

namespace atelier::ml {

inline constexpr const char* kModelFormat = "atelier-diffusion/1";

struct DiffusionModelImpl : torch::nn::Module {
  DiffusionModelImpl(ModelConfig c, Tokenizer tok);

  // (B, max_tokens) int64 token ids.
  torch::Tensor tokenize(const std::vector<std::string>& prompts) const;
  TextEncoding encode(const std::vector<std::string>& prompts);
  // Raw network output (v or epsilon, per config) for x_t at timesteps t.
  torch::Tensor predict(const torch::Tensor& x_t, const torch::Tensor& t, const TextEncoding& text);
  // The clean-image estimate in the k-diffusion view: x~ = x_t / alpha at `sigma`.
  torch::Tensor denoise(const torch::Tensor& x_scaled, double sigma, const TextEncoding& text);

  ModelConfig config;
  Tokenizer tokenizer;
  NoiseSchedule schedule;
  TextEncoder text{nullptr};
  UNet unet{nullptr};
};
TORCH_MODULE(DiffusionModel);

struct LoadedModel {
  DiffusionModel model{nullptr};
  std::map<std::string, std::string> metadata;
};

// Throws FormatError (bad file) or std::invalid_argument (bad config), naming the file.
LoadedModel load_model(const std::filesystem::path& path);
// Builds a model from already-read weights (a checkpoint's "ema." or "model." set).
DiffusionModel model_from_tensors(const ModelConfig& c, const Tokenizer& tok,
                                  const std::map<std::string, torch::Tensor>& tensors,
                                  const std::string& source, const std::string& prefix = "");
void save_model(const std::filesystem::path& path, DiffusionModel& model,
                std::map<std::string, std::string> metadata);

// Copies parameters by name (shapes must match).
void copy_parameters(torch::nn::Module& to, const torch::nn::Module& from);

}  // namespace atelier::ml
