// Sampling loop around the model; see generator.h. The clean-image estimate is
// clamped to [-1, 1] before each step (static thresholding): pixel-space models
// at guidance scales above ~3 otherwise overshoot into saturated colours.
#include "ml/generator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include <algorithm>
#include <stdexcept>

#include "ml/image_tensor.h"
#include "ml/row_parallel.h"

namespace atelier::ml {

std::vector<int> supported_sizes(const ModelConfig& c) {
  return {c.image_size, c.image_size * 2, c.image_size * 4, c.image_size * 8};
}

void validate_request(const GenerateRequest& r, const ModelConfig& c) {
  // What users may ask for is bounded by the kind's declaration
  // (kinds/generate.cpp); here only what the sampler itself cannot do without.
  if (r.count < 1) throw std::invalid_argument("count: must be at least 1");
  if (r.steps < 1) throw std::invalid_argument("steps: must be at least 1");
  if (r.batch < 1) throw std::invalid_argument("batch: must be at least 1");
  if (r.seed < 0) throw std::invalid_argument("seed: must not be negative");
  if (r.size != 0) {
    auto s = supported_sizes(c);
    if (std::find(s.begin(), s.end(), r.size) == s.end()) {
      std::string list;
      for (int x : s) list += (list.empty() ? "" : ", ") + std::to_string(x);
      throw std::invalid_argument("size: " + std::to_string(r.size) +
                                  " is not supported by this model (supported: " + list + ")");
    }
  }
}

std::vector<media::Image> generate(DiffusionModel& model, const GenerateRequest& r,
                                   const GenerateProgress& progress,
                                   const std::function<void()>& check_cancelled) {
  const auto& c = model->config;
  validate_request(r, c);
  torch::InferenceMode guard;
  model->eval();
  const int S = c.image_size, C = c.image_channels;
  const int scale = r.size == 0 ? 1 : r.size / S;
  const auto kind = r.sampler;
  const auto sigmas = sampler_sigmas(SamplerChoice{kind, r.grid}, model->schedule, r.steps);
  const int threads = at::get_num_threads();
  std::vector<media::Image> out;
  for (int first = 0; first < r.count; first += r.batch) {
    const int n = std::min(r.batch, r.count - first);
    std::vector<at::Generator> gens;
    std::vector<torch::Tensor> init;
    for (int i = 0; i < n; ++i) {
      gens.push_back(
          at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(r.seed + first + i)));
      init.push_back(torch::randn({C, S, S}, gens.back()));
    }
    auto noise = [&] {
      std::vector<torch::Tensor> z;
      for (auto& g : gens) z.push_back(torch::randn({C, S, S}, g));
      return torch::stack(z);
    };
    std::vector<std::string> prompts(static_cast<size_t>(n), r.prompt);
    const bool guided = r.cfg != 1.0;
    if (guided) prompts.insert(prompts.end(), static_cast<size_t>(n), r.negative_prompt);
    const auto enc = model->encode(prompts);
    Denoiser denoise = [&](const torch::Tensor& x, double sigma) {
      if (check_cancelled) check_cancelled();
      // Channels-last: oneDNN's convolutions run ~8% faster on it at these sizes,
      // and the attention blocks' (B, HW, C) token view of it needs no copy.
      auto in = (guided ? torch::cat({x, x}) : x).contiguous(at::MemoryFormat::ChannelsLast);
      auto d = map_row_slices(in.size(0), threads, [&](int64_t b, int64_t e) {
        const TextEncoding part{enc.states.slice(0, b, e), enc.mask.slice(0, b, e),
                                enc.pooled.slice(0, b, e)};
        return model->denoise(in.slice(0, b, e), sigma, part);
      });
      if (guided) {
        auto cond = d.slice(0, 0, n), uncond = d.slice(0, n, 2 * n);
        d = uncond + (cond - uncond) * r.cfg;
      }
      return d.clamp(-1, 1);
    };
    auto x = torch::stack(init) * std::sqrt(1.0 + sigmas.front() * sigmas.front());
    x = sample(kind, denoise, x, sigmas, noise, [&](int step, int steps) {
      if (progress) progress((first + n * static_cast<double>(step) / steps) / r.count);
    });
    for (int i = 0; i < n; ++i) out.push_back(tensor_to_image(x[i], scale));
  }
  return out;
}

std::string torch_version() {
  return TORCH_VERSION;
}

}  // namespace atelier::ml
