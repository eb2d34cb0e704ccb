// SD sampling (see sd_generate.h).
#include "ml/sd/sd_generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>

#include "ml/sd/prompt_conditioning.h"

namespace atelier::ml::sd {

void validate_sd_request(const SdRequest& r, const SdModel& m) {
  const int f = static_cast<int>(m.vae_factor() * m.unet->config().size_multiple());
  auto side = [&](const char* name, int v) {
    if (v < f || v % f != 0)
      throw std::invalid_argument(std::string("size: ") + name + " " + std::to_string(v) +
                                  " must be a positive multiple of " + std::to_string(f) +
                                  " for this model");
  };
  side("width", r.width);
  side("height", r.height);
  if (r.steps < 1) throw std::invalid_argument("steps: must be at least 1");
  if (r.count < 1) throw std::invalid_argument("count: must be at least 1");
  if (r.seed < 0) throw std::invalid_argument("seed: must not be negative");
  if (r.cfg < 0) throw std::invalid_argument("cfg: must not be negative");
  if (r.init_image.defined()) {
    if (!(r.strength > 0 && r.strength <= 1))
      throw std::invalid_argument("strength: must be in (0, 1]");
    if (r.init_image.dim() != 3 || r.init_image.size(0) != 3 || r.init_image.size(1) != r.height ||
        r.init_image.size(2) != r.width)
      throw std::invalid_argument("init image: must be 3 x " + std::to_string(r.height) + " x " +
                                  std::to_string(r.width));
  }
}

torch::Tensor init_image_tensor(const torch::Tensor& hwc, int width, int height) {
  torch::Tensor x = hwc.permute({2, 0, 1}).to(torch::kFloat32).unsqueeze(0) / 127.5 - 1.0;
  if (x.size(2) != height || x.size(3) != width)
    x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{height, width})
                                                  .mode(torch::kBicubic)
                                                  .align_corners(false)
                                                  .antialias(true));
  return x[0].clamp(-1, 1);
}

torch::Tensor sd_denoise(const SdModel& m, const torch::Tensor& x, double sigma,
                         const torch::Tensor& context, const torch::Tensor& y) {
  const double c_in = 1.0 / std::sqrt(sigma * sigma + 1.0);
  const double t = m.schedule.timestep_of(sigma);
  auto ts = torch::full({x.size(0)}, t, x.options());
  auto out = m.unet->forward(x * c_in, ts, context, y);
  if (m.prediction == Prediction::epsilon) return x - out * sigma;
  // v-prediction: x0 = c_skip * x + c_out * v
  const double c_skip = 1.0 / (sigma * sigma + 1.0), c_out = -sigma * c_in;
  return x * c_skip + out * c_out;
}

std::vector<torch::Tensor> generate_sd(const SdModel& m, const ClipTokenizer& tok,
                                       const SdRequest& r, const SdProgress& progress,
                                       const std::function<void()>& check_cancelled) {
  validate_sd_request(r, m);
  torch::NoGradGuard no_grad;
  const int64_t f = m.vae_factor(), lh = r.height / f, lw = r.width / f;
  const int64_t channels = m.unet->config().in_channels;
  SdxlSizes sizes;
  sizes.original_height = sizes.target_height = r.height;
  sizes.original_width = sizes.target_width = r.width;
  const PromptPair cond = encode_prompts(m, tok, r.prompt, r.negative_prompt, r.clip_skip, sizes);
  const bool guided = r.cfg != 1.0;
  const torch::Tensor context =
      guided ? torch::cat({cond.positive.context, cond.negative.context}) : cond.positive.context;
  torch::Tensor y;
  if (cond.positive.y.defined())
    y = guided ? torch::cat({cond.positive.y, cond.negative.y}) : cond.positive.y;

  std::vector<double> sigmas = sampler_sigmas(r.sampler, m.schedule, r.steps);
  torch::Tensor init_latent;
  if (r.init_image.defined()) {
    // A1111: run the last strength * steps steps of the full schedule.
    const int run = std::max(1, static_cast<int>(std::min(r.strength, 0.999) * r.steps));
    sigmas.erase(sigmas.begin(), sigmas.end() - (run + 1));
    init_latent = m.vae->encode(r.init_image.unsqueeze(0).to(torch::kFloat32)) * m.scale_factor;
  }
  const int steps = static_cast<int>(sigmas.size()) - 1;

  std::vector<torch::Tensor> images;
  for (int i = 0; i < r.count; ++i) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(r.seed + i));
    auto noise = [&] { return torch::randn({1, channels, lh, lw}, gen); };
    torch::Tensor x = noise() * sigmas.front();
    if (init_latent.defined()) x = x + init_latent;
    Denoiser denoise = [&](const torch::Tensor& xt, double sigma) {
      if (check_cancelled) check_cancelled();
      if (!guided) return sd_denoise(m, xt, sigma, context, y);
      auto d = sd_denoise(m, torch::cat({xt, xt}), sigma, context, y);
      auto c = d.slice(0, 0, 1), u = d.slice(0, 1, 2);
      return u + (c - u) * r.cfg;
    };
    x = sample(r.sampler.kind, denoise, x, sigmas, noise, [&](int step, int) {
      if (progress) progress((i + static_cast<double>(step) / steps) / r.count);
    });
    const int64_t tile = r.vae_tile > 0 ? r.vae_tile : 64;
    torch::Tensor z = x / m.scale_factor;
    torch::Tensor img =
        (lh > tile || lw > tile) ? m.vae->decode_tiled(z, tile, tile / 4) : m.vae->decode(z);
    img = ((img[0].clamp(-1, 1) + 1) * 127.5)
              .round()
              .to(torch::kUInt8)
              .permute({1, 2, 0})
              .contiguous();
    images.push_back(img);
  }
  return images;
}

}  // namespace atelier::ml::sd
