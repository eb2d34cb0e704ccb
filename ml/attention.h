// Multi-head attention and the transformer block used by both the text encoder
// and the UNet. Projections are plain Linear modules named to_q, to_k, to_v and
// to_out: that is where LoRA adapters attach, under those exact names.
#pragma once
#include <torch/torch.h>

namespace atelier::ml {

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int dim, int context_dim, int heads);
  // x: (B, N, dim); context: (B, M, context_dim); mask: (B, M) true = attend.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context,
                        const torch::Tensor& mask = {});
  int heads;
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, to_out{nullptr};
};
TORCH_MODULE(Attention);

struct FeedForwardImpl : torch::nn::Module {
  FeedForwardImpl(int dim, int mult);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(FeedForward);

// Pre-norm block: self-attention, optional cross-attention to a context, MLP.
struct TransformerBlockImpl : torch::nn::Module {
  // context_dim 0: no cross-attention; with_self false: no self-attention (large
  // feature maps, where its cost grows with the square of the token count).
  TransformerBlockImpl(int dim, int heads, int context_dim, int ff_mult, bool with_self = true);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& self_mask,
                        const torch::Tensor& context, const torch::Tensor& context_mask);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};  // unset ones are skipped
  Attention self_attn{nullptr}, cross_attn{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(TransformerBlock);

}  // namespace atelier::ml
