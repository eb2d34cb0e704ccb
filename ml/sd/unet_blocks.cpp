// The UNet's convolutional blocks and shape-checked layer loaders (see
// unet_blocks.h).
#include "ml/sd/unet_blocks.h"

namespace atelier::ml::sd::unet {

Linear take_linear(Weights& w, const std::string& prefix, int64_t out, int64_t in, bool bias) {
  Linear l;
  l.weight = w.take(prefix + "weight", {out, in});
  if (bias) l.bias = w.take(prefix + "bias", {out});
  return l;
}

Conv2d take_conv(Weights& w, const std::string& prefix, int64_t out, int64_t in, int64_t kernel,
                 int64_t stride) {
  Conv2d c;
  c.weight = w.take(prefix + "weight", {out, in, kernel, kernel});
  c.bias = w.take(prefix + "bias", {out});
  c.stride = stride;
  c.padding = kernel / 2;
  return c;
}

GroupNorm take_group_norm(Weights& w, const std::string& prefix, int64_t channels, double eps) {
  if (channels % 32 != 0)
    throw WeightError(w.source() + ": " + prefix + "weight: " + std::to_string(channels) +
                      " channels do not split into 32 groups");
  GroupNorm g;
  g.weight = w.take(prefix + "weight", {channels});
  g.bias = w.take(prefix + "bias", {channels});
  g.groups = 32;
  g.eps = eps;
  return g;
}

LayerNorm take_layer_norm(Weights& w, const std::string& prefix, int64_t channels) {
  LayerNorm l;
  l.weight = w.take(prefix + "weight", {channels});
  l.bias = w.take(prefix + "bias", {channels});
  return l;
}

ResBlock::ResBlock(Weights& w, const std::string& prefix, int64_t channels, int64_t out_ch,
                   int64_t emb_dim)
    : in_channels(channels), out_channels(out_ch) {
  in_norm = take_group_norm(w, prefix + "in_layers.0.", channels);
  in_conv = take_conv(w, prefix + "in_layers.2.", out_ch, channels, 3);
  emb_proj = take_linear(w, prefix + "emb_layers.1.", out_ch, emb_dim);
  out_norm = take_group_norm(w, prefix + "out_layers.0.", out_ch);
  out_conv = take_conv(w, prefix + "out_layers.3.", out_ch, out_ch, 3);
  // openaimodel adds the 1x1 skip conv exactly when the channel count
  // changes; a stray one (or a missing one) means a layout we do not know.
  if (channels != out_ch || w.has(prefix + "skip_connection.weight"))
    skip = take_conv(w, prefix + "skip_connection.", out_ch, channels, 1);
}

torch::Tensor ResBlock::operator()(const torch::Tensor& x, const torch::Tensor& silu_emb) const {
  torch::Tensor h = in_conv(torch::silu(in_norm(x)));
  h = h + emb_proj(silu_emb).unsqueeze(-1).unsqueeze(-1);
  h = out_conv(torch::silu(out_norm(h)));
  return (skip.weight.defined() ? skip(x) : x) + h;
}

Downsample::Downsample(Weights& w, const std::string& prefix, int64_t channels)
    : op(take_conv(w, prefix + "op.", channels, channels, 3, 2)) {}

Upsample::Upsample(Weights& w, const std::string& prefix, int64_t channels)
    : conv(take_conv(w, prefix + "conv.", channels, channels, 3)) {}

torch::Tensor Upsample::operator()(const torch::Tensor& x) const {
  return conv(torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
}

}  // namespace atelier::ml::sd::unet
