// The AutoencoderKL of SD 1.x, 2.x and SDXL (the LDM/SGM layout under
// "first_stage_model."): an encoder from images in [-1, 1] to the moments of a
// diagonal Gaussian over latents, and a decoder from latents back to images.
//
// Invariants: every size comes from tensor shapes (VaeConfig::infer), and the
// constructor takes every parameter under the prefix with the shape the
// previous layer implies, so a contradicting tensor fails at construction
// naming itself; forward passes only read members. Latents are NOT scaled
// here: the pipeline divides the diffusion latent by the model's scale factor
// (0.18215 for SD1/SD2, 0.13025 for SDXL) before decode() and multiplies
// encode()'s result by it. The spatial factor between image and latent is
// 2^(levels - 1) (8 for every real SD VAE).
//
// decode_tiled() decodes overlapping latent tiles and feathers them together.
// Its result differs slightly from a whole decode, for three reasons that no
// blending removes: every GroupNorm normalizes with the statistics of its tile
// rather than of the whole image, the mid-block attention attends only within
// the tile, and pixels near a tile border see zero padding where the whole
// decode sees the neighbouring latents. The feathering hides the seams these
// leave; an image that fits one tile is decoded whole, exactly as decode().
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "ml/sd/layers.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd {

struct VaeConfig {
  int64_t in_channels = 3;   // image channels the encoder reads
  int64_t out_channels = 3;  // image channels the decoder writes
  int64_t ch = 128;          // channels of the first level
  std::vector<int64_t> ch_mult = {1, 2, 4, 4};
  int64_t num_res_blocks = 2;  // per encoder level; the decoder has one more
  std::vector<bool> attn = {false, false, false, false};  // per level: after each res block
  int64_t z_channels = 4;  // decoder input; the encoder writes 2 * z_channels
  int64_t embed_dim = 4;   // latent channels (quant_conv writes 2 * embed_dim)

  int64_t levels() const { return int64_t(ch_mult.size()); }
  // Image pixels per latent pixel along each side.
  int64_t downscale_factor() const { return int64_t(1) << (levels() - 1); }

  // Sizes read from the shapes under prefix ("first_stage_model.").
  static VaeConfig infer(const Weights& w, const std::string& prefix);
};

// GroupNorm(32, eps 1e-6), SiLU, 3x3 conv, twice, plus a 1x1 shortcut when
// the channel count changes.
struct VaeResnetBlock {
  GroupNorm norm1, norm2;
  Conv2d conv1, conv2, nin_shortcut;  // nin_shortcut.weight undefined when in == out
  torch::Tensor operator()(const torch::Tensor& x) const;
};

// Single-head self-attention over all pixels. q, k, v and proj_out are held as
// 1x1 convolutions; files that store them as [C, C] linear weights are
// reshaped at construction.
struct VaeAttnBlock {
  GroupNorm norm;
  Conv2d q, k, v, proj_out;
  torch::Tensor operator()(const torch::Tensor& x) const;
};

struct VaeMid {
  VaeResnetBlock block_1;
  VaeAttnBlock attn_1;
  VaeResnetBlock block_2;
  torch::Tensor operator()(const torch::Tensor& x) const;
};

struct VaeLevel {
  std::vector<VaeResnetBlock> blocks;
  std::vector<VaeAttnBlock> attns;  // empty, or one per block
  std::optional<Conv2d> resample;   // down: stride 2 after (0,1,0,1) padding; up: after nearest x2
};

struct VaeEncoder {
  Conv2d conv_in;
  std::vector<VaeLevel> down;  // level 0 first
  VaeMid mid;
  GroupNorm norm_out;
  Conv2d conv_out;
  torch::Tensor operator()(const torch::Tensor& x) const;
};

struct VaeDecoder {
  Conv2d conv_in;
  VaeMid mid;
  std::vector<VaeLevel> up;  // indexed as stored: up[levels - 1] runs first
  GroupNorm norm_out;
  Conv2d conv_out;
  torch::Tensor operator()(const torch::Tensor& z) const;
};

class VaeModel {
 public:
  // Takes every parameter under prefix; first_stage_model.loss.* (the
  // training discriminator some files carry) is skipped.
  VaeModel(Weights& w, const std::string& prefix, VaeConfig c);

  const VaeConfig& config() const { return config_; }
  int64_t downscale_factor() const { return config_.downscale_factor(); }

  // quant_conv(encoder(x)) for x (B, in_channels, H, W) in [-1, 1], H and W
  // multiples of downscale_factor(): (B, 2 * embed_dim, H/f, W/f), the mean in
  // the first embed_dim channels and the log-variance in the rest.
  torch::Tensor encode_moments(const torch::Tensor& x) const;
  // The mean (no generator: deterministic, what img2img wants) or a sample
  // mean + exp(logvar / 2) * noise, logvar clamped to [-30, 20] as upstream.
  torch::Tensor encode(const torch::Tensor& x, std::optional<at::Generator> gen = {}) const;
  // decoder(post_quant_conv(z)) for z (B, embed_dim, h, w), not divided by the
  // scale factor here: (B, out_channels, h * f, w * f), nominally in [-1, 1].
  torch::Tensor decode(const torch::Tensor& z) const;
  // decode() in tiles of at most tile_latent x tile_latent latent pixels that
  // overlap by overlap_latent (0 <= overlap < tile), blended with linear
  // ramps across each overlap. When h and w are both <= tile_latent this is
  // decode(z). Peak memory: the output image and one weight plane
  // ((B * out_channels + 1) * h * w * f^2 floats) plus one decode of a
  // tile_latent^2 latent, whatever the image size. For the SD VAE that decode
  // peaks at a few live activations of 256 channels at (8 * tile)^2 pixels:
  // about 1 GiB per batch item for a 64-latent (512-pixel) tile.
  torch::Tensor decode_tiled(const torch::Tensor& z, int64_t tile_latent,
                             int64_t overlap_latent) const;

 private:
  VaeConfig config_;
  VaeEncoder encoder_;
  VaeDecoder decoder_;
  Conv2d quant_conv_, post_quant_conv_;
};

}  // namespace atelier::ml::sd
