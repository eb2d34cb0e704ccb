// Text-to-image and image-to-image with a Stable Diffusion checkpoint: the
// k-diffusion view of the model (x = x0 + sigma * noise; the UNet sees
// x / sqrt(sigma^2 + 1) at the fractional timestep of sigma), classifier-free
// guidance, a sampler from ml/samplers.h, and the VAE's decode.
//
// Invariants: image i of a request starts from noise drawn from its own CPU
// generator seeded with seed + i (A1111's numbering), so the same checkpoint,
// request and thread count give the same pixels, whatever the count; guidance
// 1.0 skips the unconditional pass (Turbo presets). Latents are divided by the
// model's scale factor before decoding; images larger than the tile are
// decoded in overlapping tiles (vae_model.h) so memory stays bounded.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "ml/samplers.h"
#include "ml/sd/clip_tokenizer.h"
#include "ml/sd/sd_model.h"

namespace atelier::ml::sd {

struct SdRequest {
  std::string prompt, negative_prompt;
  int width = 512, height = 512;  // pixels, multiples of the VAE's factor
  int steps = 20;
  SamplerChoice sampler{SamplerKind::euler_a, SigmaGrid::automatic};
  double cfg = 7.0;
  int64_t seed = 0;
  int count = 1;
  int clip_skip = 0;  // 0: the family's default
  // img2img: an (3, H, W) float image in [-1, 1] of the output size, and how
  // much of the schedule to run over it (0 keeps it, 1 replaces it).
  torch::Tensor init_image;
  double strength = 0.75;
  // VAE tile side in latent pixels (0: 64, i.e. 512 pixels on real models).
  int vae_tile = 0;
};

// Throws std::invalid_argument naming the field (size not a multiple of the
// VAE's factor, steps < 1, strength outside (0, 1], ...).
void validate_sd_request(const SdRequest& r, const SdModel& m);

using SdProgress = std::function<void(double fraction)>;

// (H, W, 3) uint8 images.
std::vector<torch::Tensor> generate_sd(const SdModel& m, const ClipTokenizer& tok,
                                       const SdRequest& r, const SdProgress& progress = {},
                                       const std::function<void()>& check_cancelled = {});

// An (H, W, 3) uint8 image as the (3, height, width) float image in [-1, 1]
// img2img starts from, resized (bicubic, antialiased) when the sizes differ.
torch::Tensor init_image_tensor(const torch::Tensor& hwc, int width, int height);

// The k-diffusion denoiser around the UNet, for tests: the clean-latent
// estimate at `sigma` for x (B, 4, h, w) with one conditioning per row.
torch::Tensor sd_denoise(const SdModel& m, const torch::Tensor& x, double sigma,
                         const torch::Tensor& context, const torch::Tensor& y);

}  // namespace atelier::ml::sd
