// The UNet's attention part (LDM/SGM attention.py): SpatialTransformer, which
// flattens a feature map into tokens and runs BasicTransformerBlocks (self
// attention, cross attention to the text context, GEGLU feed-forward), each
// pre-LayerNorm with a residual.
//
// Invariants: every parameter is taken in the constructor with the shape the
// channel count, context width and head split imply; forward passes only
// read members. The inner width equals the channel count (as in every SD
// checkpoint); attention never holds more than one query slice's scores at a
// time, so full-size latents (4096 tokens) stay within a bounded memory.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ml/sd/layers.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd::unet {

// Multi-head attention: to_q/to_k/to_v without bias, to_out.0 with bias.
struct CrossAttention {
  Linear to_q, to_k, to_v, to_out;
  int64_t heads = 1;
  CrossAttention(Weights& w, const std::string& prefix, int64_t dim, int64_t context_dim,
                 int64_t heads);
  // context undefined: self-attention.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& context) const;
};

// ff.net.0.proj -> split in two halves (value, gate) -> value * gelu(gate)
// (exact erf gelu) -> ff.net.2.
struct GegluFeedForward {
  Linear proj, out;
  GegluFeedForward(Weights& w, const std::string& prefix, int64_t dim);
  torch::Tensor operator()(const torch::Tensor& x) const;
};

struct BasicTransformerBlock {
  LayerNorm norm1, norm2, norm3;
  CrossAttention attn1, attn2;
  GegluFeedForward ff;
  BasicTransformerBlock(Weights& w, const std::string& prefix, int64_t dim, int64_t context_dim,
                        int64_t heads);
  torch::Tensor operator()(torch::Tensor x, const torch::Tensor& context) const;
};

struct SpatialTransformer {
  GroupNorm norm;  // 32 groups, eps 1e-6
  // SD1 projects with 1x1 convolutions (4-d weights); SD2 and SDXL with
  // linear layers on the tokens (2-d weights). One pair is defined.
  Conv2d proj_in_conv, proj_out_conv;
  Linear proj_in_linear, proj_out_linear;
  bool linear_proj = false;
  std::vector<BasicTransformerBlock> blocks;

  // depth: the number of transformer_blocks the checkpoint must hold here
  // (more or fewer is a WeightError naming the prefix).
  SpatialTransformer(Weights& w, const std::string& prefix, int64_t channels, int64_t context_dim,
                     int64_t depth, bool linear_proj, int64_t heads);
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& context) const;
};

// Softmax attention over (B, N, heads * d) queries and (B, M, heads * d) keys
// and values, computed in query slices so that the score matrix of one slice
// stays under budget_bytes (float32 scores); equal to layers.h attention()
// otherwise. The default bounds an SD1.5 512x512 step at the top level
// (2 x 8 heads x 4096 x 4096 scores: 1 GiB, and the softmax a second copy).
constexpr int64_t kAttentionScoreBudget = int64_t(256) << 20;
torch::Tensor sliced_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, int64_t heads,
                               int64_t budget_bytes = kAttentionScoreBudget);

}  // namespace atelier::ml::sd::unet
