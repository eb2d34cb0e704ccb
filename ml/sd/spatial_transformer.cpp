// The UNet's transformer blocks (see spatial_transformer.h).
#include "ml/sd/spatial_transformer.h"

#include <algorithm>
#include <cmath>

#include "ml/sd/unet_blocks.h"

namespace atelier::ml::sd::unet {

torch::Tensor sliced_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, int64_t heads, int64_t budget_bytes) {
  const int64_t b = q.size(0), n = q.size(1), m = k.size(1), c = q.size(2), d = c / heads;
  auto split = [&](const torch::Tensor& t, int64_t len) {
    return t.reshape({b, len, heads, d}).permute({0, 2, 1, 3}).reshape({b * heads, len, d});
  };
  const double scale = 1.0 / std::sqrt(double(d));
  torch::Tensor qh = split(q, n), kt = split(k, m).transpose(1, 2), vh = split(v, m);
  const int64_t per_row = b * heads * m * int64_t(sizeof(float));
  const int64_t slice = std::max<int64_t>(1, budget_bytes / std::max<int64_t>(1, per_row));
  torch::Tensor out;
  if (slice >= n) {
    out = torch::bmm(torch::softmax(torch::bmm(qh, kt).mul_(scale), -1), vh);
  } else {
    out = torch::empty({b * heads, n, d}, qh.options());
    for (int64_t i = 0; i < n; i += slice) {
      const int64_t e = std::min(n, i + slice);
      torch::Tensor s = torch::bmm(qh.slice(1, i, e), kt).mul_(scale);
      out.slice(1, i, e).copy_(torch::bmm(torch::softmax(s, -1), vh));
    }
  }
  return out.reshape({b, heads, n, d}).permute({0, 2, 1, 3}).reshape({b, n, c});
}

CrossAttention::CrossAttention(Weights& w, const std::string& prefix, int64_t dim,
                               int64_t context_dim, int64_t heads_)
    : heads(heads_) {
  to_q = take_linear(w, prefix + "to_q.", dim, dim, false);
  to_k = take_linear(w, prefix + "to_k.", dim, context_dim, false);
  to_v = take_linear(w, prefix + "to_v.", dim, context_dim, false);
  to_out = take_linear(w, prefix + "to_out.0.", dim, dim);
}

torch::Tensor CrossAttention::operator()(const torch::Tensor& x,
                                         const torch::Tensor& context) const {
  const torch::Tensor& src = context.defined() ? context : x;
  return to_out(sliced_attention(to_q(x), to_k(src), to_v(src), heads));
}

GegluFeedForward::GegluFeedForward(Weights& w, const std::string& prefix, int64_t dim) {
  // The hidden width (4 x dim in every SD checkpoint) is read from the
  // output layer; the GEGLU projection must then be twice as wide.
  const int64_t hidden = w.shape(prefix + "net.2.weight").at(1);
  proj = take_linear(w, prefix + "net.0.proj.", 2 * hidden, dim);
  out = take_linear(w, prefix + "net.2.", dim, hidden);
}

torch::Tensor GegluFeedForward::operator()(const torch::Tensor& x) const {
  std::vector<torch::Tensor> halves = proj(x).chunk(2, -1);
  return out(halves[0] * torch::gelu(halves[1]));
}

BasicTransformerBlock::BasicTransformerBlock(Weights& w, const std::string& prefix, int64_t dim,
                                             int64_t context_dim, int64_t heads)
    : norm1(take_layer_norm(w, prefix + "norm1.", dim)),
      norm2(take_layer_norm(w, prefix + "norm2.", dim)),
      norm3(take_layer_norm(w, prefix + "norm3.", dim)),
      attn1(w, prefix + "attn1.", dim, dim, heads),
      attn2(w, prefix + "attn2.", dim, context_dim, heads),
      ff(w, prefix + "ff.", dim) {}

torch::Tensor BasicTransformerBlock::operator()(torch::Tensor x,
                                                const torch::Tensor& context) const {
  x = x + attn1(norm1(x), {});
  x = x + attn2(norm2(x), context);
  return x + ff(norm3(x));
}

SpatialTransformer::SpatialTransformer(Weights& w, const std::string& prefix, int64_t channels,
                                       int64_t context_dim, int64_t depth, bool linear,
                                       int64_t heads)
    : linear_proj(linear) {
  norm = take_group_norm(w, prefix + "norm.", channels, 1e-6);
  if (linear) {
    proj_in_linear = take_linear(w, prefix + "proj_in.", channels, channels);
    proj_out_linear = take_linear(w, prefix + "proj_out.", channels, channels);
  } else {
    proj_in_conv = take_conv(w, prefix + "proj_in.", channels, channels, 1);
    proj_out_conv = take_conv(w, prefix + "proj_out.", channels, channels, 1);
  }
  const int found = w.count_indexed(prefix + "transformer_blocks.");
  if (found != depth)
    throw WeightError(w.source() + ": " + prefix + "transformer_blocks: expected " +
                      std::to_string(depth) + " blocks, found " + std::to_string(found));
  blocks.reserve(depth);
  for (int64_t i = 0; i < depth; ++i)
    blocks.emplace_back(w, prefix + "transformer_blocks." + std::to_string(i) + ".", channels,
                        context_dim, heads);
}

torch::Tensor SpatialTransformer::operator()(const torch::Tensor& x,
                                             const torch::Tensor& context) const {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  torch::Tensor t = norm(x);
  if (!linear_proj) t = proj_in_conv(t);
  t = t.flatten(2).transpose(1, 2);  // (B, H*W, C)
  if (linear_proj) t = proj_in_linear(t);
  for (const BasicTransformerBlock& blk : blocks) t = blk(t, context);
  if (linear_proj) t = proj_out_linear(t);
  t = t.transpose(1, 2).reshape({b, c, h, wd});
  if (!linear_proj) t = proj_out_conv(t);
  return t + x;
}

}  // namespace atelier::ml::sd::unet
