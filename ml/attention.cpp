// Attention with an explicit softmax (libtorch 1.13 has no fused kernel for it).
#include "ml/attention.h"

#include <cmath>

namespace atelier::ml {

AttentionImpl::AttentionImpl(int dim, int context_dim, int heads_) : heads(heads_) {
  using torch::nn::LinearOptions;
  to_q = register_module("to_q", torch::nn::Linear(LinearOptions(dim, dim).bias(false)));
  to_k = register_module("to_k", torch::nn::Linear(LinearOptions(context_dim, dim).bias(false)));
  to_v = register_module("to_v", torch::nn::Linear(LinearOptions(context_dim, dim).bias(false)));
  to_out = register_module("to_out", torch::nn::Linear(LinearOptions(dim, dim)));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context,
                                     const torch::Tensor& mask) {
  const auto B = x.size(0), N = x.size(1), M = context.size(1);
  const auto D = to_q->weight.size(0), hd = D / heads;
  auto q = to_q(x).view({B, N, heads, hd}).transpose(1, 2);  // B h N hd
  auto k = to_k(context).view({B, M, heads, hd}).transpose(1, 2);
  auto v = to_v(context).view({B, M, heads, hd}).transpose(1, 2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd)));
  if (mask.defined())
    scores = scores.masked_fill(mask.logical_not().view({B, 1, 1, M}),
                                -std::numeric_limits<float>::infinity());
  auto out = torch::matmul(scores.softmax(-1), v).transpose(1, 2).reshape({B, N, D});
  return to_out(out);
}

FeedForwardImpl::FeedForwardImpl(int dim, int mult) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, dim * mult));
  fc2 = register_module("fc2", torch::nn::Linear(dim * mult, dim));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  return fc2(torch::gelu(fc1(x)));
}

TransformerBlockImpl::TransformerBlockImpl(int dim, int heads, int context_dim, int ff_mult,
                                           bool with_self) {
  if (with_self) {
    norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    self_attn = register_module("self_attn", Attention(dim, dim, heads));
  }
  if (context_dim > 0) {
    norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    cross_attn = register_module("cross_attn", Attention(dim, context_dim, heads));
  }
  norm3 = register_module("norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  ff = register_module("ff", FeedForward(dim, ff_mult));
}

torch::Tensor TransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& self_mask,
                                            const torch::Tensor& context,
                                            const torch::Tensor& context_mask) {
  if (self_attn) {
    auto h = norm1(x);
    x = x + self_attn(h, h, self_mask);
  }
  if (cross_attn) x = x + cross_attn(norm2(x), context, context_mask);
  return x + ff(norm3(x));
}

}  // namespace atelier::ml
