// UNet forward pass; see unet.h. Output convolutions of residual branches start
// at zero so a fresh model is the identity on its skip paths, which keeps early
// training stable at high learning rates.
#include "ml/unet.h"

#include <cmath>

#include "ml/conv_precision.h"
#include "ml/group_norm_silu.h"

namespace atelier::ml {

namespace nn = torch::nn;

namespace {
nn::Conv2d conv3(int in, int out, int stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}
nn::GroupNorm group_norm(int ch) {
  return nn::GroupNorm(nn::GroupNormOptions(8, ch));
}
void zero_init(nn::Conv2d& c) {
  torch::NoGradGuard g;
  c->weight.zero_();
  if (c->bias.defined()) c->bias.zero_();
}
}  // namespace

torch::Tensor timestep_embedding(const torch::Tensor& t, int dim) {
  const int half = dim / 2;
  auto freqs =
      torch::exp(-std::log(10000.0) *
                 torch::arange(half, torch::TensorOptions().dtype(torch::kFloat32)) / half);
  auto args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

ResBlockImpl::ResBlockImpl(int in_ch, int out_ch, int time_dim) {
  norm1 = register_module("norm1", group_norm(in_ch));
  conv1 = register_module("conv1", conv3(in_ch, out_ch));
  time_proj = register_module("time_proj", nn::Linear(time_dim, out_ch));
  norm2 = register_module("norm2", group_norm(out_ch));
  conv2 = register_module("conv2", conv3(out_ch, out_ch));
  zero_init(conv2);
  if (in_ch != out_ch)
    skip = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in_ch, out_ch, 1)));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  auto h = convolve(conv1, group_norm_silu(x, norm1));
  h = h + time_proj(torch::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  h = convolve(conv2, group_norm_silu(h, norm2));
  return (skip ? convolve(skip, x) : x) + h;
}

SpatialTransformerImpl::SpatialTransformerImpl(int ch, int heads, int context_dim, bool with_self) {
  norm = register_module("norm", group_norm(ch));
  proj_in = register_module("proj_in", nn::Conv2d(nn::Conv2dOptions(ch, ch, 1)));
  block = register_module("block", TransformerBlock(ch, heads, context_dim, 2, with_self));
  proj_out = register_module("proj_out", nn::Conv2d(nn::Conv2dOptions(ch, ch, 1)));
  zero_init(proj_out);
}

torch::Tensor SpatialTransformerImpl::forward(const torch::Tensor& x, const TextEncoding& text) {
  const auto B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto h =
      convolve(proj_in, group_norm_silu(x, norm, false)).flatten(2).transpose(1, 2);  // B, HW, C
  h = block->forward(h, torch::Tensor(), text.states, text.mask);
  h = h.transpose(1, 2).reshape({B, C, H, W});
  return x + convolve(proj_out, h);
}

UNetBlockImpl::UNetBlockImpl(int in_ch, int out_ch, const ModelConfig& c, bool attention,
                             bool self_attention) {
  res = register_module("res", ResBlock(in_ch, out_ch, c.time_dim));
  if (attention)
    attn = register_module("attn", SpatialTransformer(out_ch, c.heads, c.text_dim, self_attention));
}

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                     const TextEncoding& text) {
  auto h = res(x, temb);
  return attn ? attn(h, text) : h;
}

UNetImpl::UNetImpl(const ModelConfig& c) : config(c) {
  const int c0 = c.channels.front();
  time_mlp = register_module("time_mlp", nn::Sequential(nn::Linear(c0, c.time_dim), nn::SiLU(),
                                                        nn::Linear(c.time_dim, c.time_dim)));
  text_pool = register_module("text_pool", nn::Linear(c.text_dim, c.time_dim));
  conv_in = register_module("conv_in", conv3(c.image_channels, c0));
  down = register_module("down", nn::ModuleList());
  downsample = register_module("downsample", nn::ModuleList());
  up = register_module("up", nn::ModuleList());
  upsample = register_module("upsample", nn::ModuleList());

  const size_t levels = c.channels.size();
  std::vector<int> skip_ch = {c0};
  int ch = c0;
  for (size_t i = 0; i < levels; ++i) {
    for (int b = 0; b < c.res_blocks; ++b) {
      down->push_back(UNetBlock(ch, c.channels[i], c, c.attention[i], c.self_attention[i]));
      ch = c.channels[i];
      skip_ch.push_back(ch);
    }
    if (i + 1 < levels) {
      downsample->push_back(conv3(ch, ch, 2));
      skip_ch.push_back(ch);
    }
  }
  mid1 = register_module("mid1", UNetBlock(ch, ch, c, true, true));
  mid2 = register_module("mid2", UNetBlock(ch, ch, c, false, false));
  for (size_t li = levels; li-- > 0;) {
    for (int b = 0; b <= c.res_blocks; ++b) {
      const int sc = skip_ch.back();
      skip_ch.pop_back();
      up->push_back(UNetBlock(ch + sc, c.channels[li], c, c.attention[li], c.self_attention[li]));
      ch = c.channels[li];
    }
    if (li > 0) upsample->push_back(conv3(ch, ch));
  }
  norm_out = register_module("norm_out", group_norm(ch));
  conv_out = register_module("conv_out", conv3(ch, c.image_channels));
  zero_init(conv_out);
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                const TextEncoding& text) {
  auto temb = time_mlp->forward(timestep_embedding(t, config.channels.front()));
  temb = temb + text_pool(text.pooled);
  const size_t levels = config.channels.size();
  std::vector<torch::Tensor> skips;
  auto h = convolve(conv_in, x);
  skips.push_back(h);
  size_t bi = 0;
  for (size_t i = 0; i < levels; ++i) {
    for (int b = 0; b < config.res_blocks; ++b) {
      h = down[bi++]->as<UNetBlock>()->forward(h, temb, text);
      skips.push_back(h);
    }
    if (i + 1 < levels) {
      nn::Conv2d d(downsample->ptr<nn::Conv2dImpl>(i));
      h = convolve(d, h);
      skips.push_back(h);
    }
  }
  h = mid1(h, temb, text);
  h = mid2(h, temb, text);
  bi = 0;
  size_t ui = 0;
  for (size_t li = levels; li-- > 0;) {
    for (int b = 0; b <= config.res_blocks; ++b) {
      h = up[bi++]->as<UNetBlock>()->forward(torch::cat({h, skips.back()}, 1), temb, text);
      skips.pop_back();
    }
    if (li > 0) {
      h = torch::upsample_nearest2d(h, std::vector<int64_t>{h.size(2) * 2, h.size(3) * 2});
      nn::Conv2d u(upsample->ptr<nn::Conv2dImpl>(ui++));
      h = convolve(u, h);
    }
  }
  return convolve(conv_out, group_norm_silu(h, norm_out));
}

}  // namespace atelier::ml
