// The layers Stable Diffusion's components are built of, as plain structs of
// tensors taken from Weights: a component is built once (taking every
// parameter it uses) and its forward pass only reads. Keeping layers as data
// rather than torch::nn modules lets one loader serve the LDM and diffusers
// names, and a LoRA be merged by adding to a tensor in place.
#pragma once
#include <torch/torch.h>

#include <string>

#include "ml/sd/weights.h"

namespace atelier::ml::sd {

struct Linear {
  torch::Tensor weight, bias;  // bias undefined when the layer has none
  torch::Tensor operator()(const torch::Tensor& x) const;
  int64_t in() const { return weight.size(1); }
  int64_t out() const { return weight.size(0); }
};
// Takes prefix + "weight" (and "bias" when present, or required when bias is true).
Linear load_linear(Weights& w, const std::string& prefix, bool bias = true);

struct Conv2d {
  torch::Tensor weight, bias;
  int64_t stride = 1, padding = 0;
  torch::Tensor operator()(const torch::Tensor& x) const;
};
// Padding is kernel / 2 (every SD convolution is "same" or a stride-2 down).
Conv2d load_conv(Weights& w, const std::string& prefix, int64_t stride = 1);

struct GroupNorm {
  torch::Tensor weight, bias;
  int64_t groups = 32;
  double eps = 1e-5;
  torch::Tensor operator()(const torch::Tensor& x) const;
};
GroupNorm load_group_norm(Weights& w, const std::string& prefix, int64_t groups = 32,
                          double eps = 1e-5);

struct LayerNorm {
  torch::Tensor weight, bias;
  double eps = 1e-5;
  torch::Tensor operator()(const torch::Tensor& x) const;
};
LayerNorm load_layer_norm(Weights& w, const std::string& prefix, double eps = 1e-5);

// Softmax attention over (B, N, heads * d) queries and (B, M, heads * d) keys
// and values; mask (B or 1, N or 1, M) is added to the scores when defined
// (the text encoders' causal mask).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t heads, const torch::Tensor& mask = {});

// Sinusoidal embedding of (B) timesteps or sizes as the LDM/SGM code makes it:
// (B, dim) = cat(cos(t * f), sin(t * f)), f = exp(-ln(max_period) * i / half).
torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim, double max_period = 10000.0);

}  // namespace atelier::ml::sd
