// The denoiser: a small text-conditioned UNet in pixel space. Residual blocks
// take the timestep embedding (plus the pooled prompt vector); attention levels
// run a transformer block over the feature map with self-attention and
// cross-attention to the prompt's token states. Skip connections follow the
// Stable Diffusion layout: one per down block and per downsample, consumed by
// res_blocks + 1 up blocks per level.
#pragma once
#include <torch/torch.h>

#include "ml/attention.h"
#include "ml/model_config.h"
#include "ml/text_encoder.h"

namespace atelier::ml {

struct ResBlockImpl : torch::nn::Module {
  ResBlockImpl(int in_ch, int out_ch, int time_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb);
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, skip{nullptr};
  torch::nn::Linear time_proj{nullptr};
};
TORCH_MODULE(ResBlock);

// Feature map -> tokens -> transformer block -> feature map, with a residual.
struct SpatialTransformerImpl : torch::nn::Module {
  SpatialTransformerImpl(int ch, int heads, int context_dim, bool with_self);
  torch::Tensor forward(const torch::Tensor& x, const TextEncoding& text);
  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d proj_in{nullptr}, proj_out{nullptr};
  TransformerBlock block{nullptr};
};
TORCH_MODULE(SpatialTransformer);

// One UNet block: a ResBlock, optionally followed by a SpatialTransformer.
struct UNetBlockImpl : torch::nn::Module {
  UNetBlockImpl(int in_ch, int out_ch, const ModelConfig& c, bool attention, bool self_attention);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb,
                        const TextEncoding& text);
  ResBlock res{nullptr};
  SpatialTransformer attn{nullptr};
};
TORCH_MODULE(UNetBlock);

struct UNetImpl : torch::nn::Module {
  explicit UNetImpl(const ModelConfig& c);
  // x: (B, C, H, W); t: (B) float timesteps in [0, T); text from the encoder.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const TextEncoding& text);

  ModelConfig config;
  torch::nn::Sequential time_mlp{nullptr};
  torch::nn::Linear text_pool{nullptr};
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down{nullptr}, downsample{nullptr}, up{nullptr}, upsample{nullptr};
  UNetBlock mid1{nullptr}, mid2{nullptr};
  torch::nn::GroupNorm norm_out{nullptr};
};
TORCH_MODULE(UNet);

// Sinusoidal embedding of (fractional) timesteps: (B) -> (B, dim).
torch::Tensor timestep_embedding(const torch::Tensor& t, int dim);

}  // namespace atelier::ml
