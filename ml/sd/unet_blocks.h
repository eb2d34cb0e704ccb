// The convolutional blocks of the LDM/SGM UNet (openaimodel): the residual
// block conditioned on the time embedding, and the stride-2 down and nearest
// x2 up samplers; plus loaders that take a layer with the shape its
// neighbours imply, so a checkpoint whose blocks do not chain fails at
// construction with the tensor's name rather than inside a forward pass.
//
// Invariants: every parameter is taken in the constructor with its expected
// shape; forward passes only read members. GroupNorms here use 32 groups and
// eps 1e-5 (openaimodel's normalization()).
#pragma once
#include <torch/torch.h>

#include <string>

#include "ml/sd/layers.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd::unet {

// Layers taken with their full expected shapes (prefix ends in ".").
Linear take_linear(Weights& w, const std::string& prefix, int64_t out, int64_t in,
                   bool bias = true);
Conv2d take_conv(Weights& w, const std::string& prefix, int64_t out, int64_t in, int64_t kernel,
                 int64_t stride = 1);
GroupNorm take_group_norm(Weights& w, const std::string& prefix, int64_t channels,
                          double eps = 1e-5);
LayerNorm take_layer_norm(Weights& w, const std::string& prefix, int64_t channels);

// GroupNorm -> SiLU -> 3x3 conv, plus a projection of SiLU(emb) added per
// channel, then GroupNorm -> SiLU -> 3x3 conv, added to the input (through a
// 1x1 conv when the channel count changes: skip_connection is present
// exactly then).
struct ResBlock {
  GroupNorm in_norm, out_norm;
  Conv2d in_conv, out_conv, skip;  // skip.weight undefined: identity
  Linear emb_proj;
  int64_t in_channels = 0, out_channels = 0;

  ResBlock(Weights& w, const std::string& prefix, int64_t channels, int64_t out_channels,
           int64_t emb_dim);
  // silu_emb: SiLU of the (B, emb_dim) time embedding, computed once per step.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& silu_emb) const;
};

struct Downsample {
  Conv2d op;  // 3x3, stride 2
  Downsample(Weights& w, const std::string& prefix, int64_t channels);
  torch::Tensor operator()(const torch::Tensor& x) const { return op(x); }
};

struct Upsample {
  Conv2d conv;  // 3x3 after nearest-neighbour doubling
  Upsample(Weights& w, const std::string& prefix, int64_t channels);
  torch::Tensor operator()(const torch::Tensor& x) const;
};

}  // namespace atelier::ml::sd::unet
