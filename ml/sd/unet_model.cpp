// The SD UNet: architecture inference, construction and the forward pass
// (see unet_model.h).
#include "ml/sd/unet_model.h"

#include <algorithm>
#include <stdexcept>

namespace atelier::ml::sd {

using unet::Downsample;
using unet::ResBlock;
using unet::SpatialTransformer;
using unet::Upsample;

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string str(int64_t v) {
  return std::to_string(v);
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + str(v[i]);
  return s;
}

// A block (or block list) holding more entries than the config describes
// would otherwise only surface as unused keys; say where it is.
void expect_count(const Weights& w, const std::string& prefix, int64_t expected, const char* what) {
  const int found = w.count_indexed(prefix);
  if (found != expected)
    throw WeightError(w.source() + ": " + prefix.substr(0, prefix.size() - 1) + ": expected " +
                      str(expected) + " " + what + ", found " + str(found));
}

}  // namespace

UNetConfig UNetModel::infer(const Weights& w, const std::string& p) {
  UNetConfig c;
  const std::vector<int64_t> conv_in = w.shape(p + "input_blocks.0.0.weight");
  if (conv_in.size() != 4)
    throw WeightError(w.source() + ": " + p + "input_blocks.0.0.weight: expected a 4-d " +
                      "convolution kernel, found " + shape_text(conv_in));
  c.model_channels = conv_in[0];
  c.in_channels = conv_in[1];
  c.time_embed_dim = w.shape(p + "time_embed.0.weight").at(0);
  c.out_channels = w.shape(p + "out.2.weight").at(0);
  if (w.has(p + "label_emb.0.0.weight"))
    c.adm_in_channels = w.shape(p + "label_emb.0.0.weight").at(1);

  auto note_transformer = [&](const std::string& tp) {
    c.linear_proj = w.shape(tp + "proj_in.weight").size() == 2;
    c.context_dim = w.shape(tp + "transformer_blocks.0.attn2.to_k.weight").at(1);
    return int64_t(w.count_indexed(tp + "transformer_blocks."));
  };

  // Walk the way down: a Downsample block closes a level; the first ResBlock
  // of a level gives its width and whether (and how deep) it attends.
  std::vector<int64_t> res_blocks{0};
  c.channel_mult.clear();
  c.transformer_depth.clear();
  const int n = w.count_indexed(p + "input_blocks.");
  for (int i = 1; i < n; ++i) {
    const std::string bp = p + "input_blocks." + std::to_string(i) + ".";
    if (w.has(bp + "0.op.weight")) {
      res_blocks.push_back(0);
      continue;
    }
    if (res_blocks.back()++ > 0) continue;
    const std::string width_name = bp + "0.in_layers.2.weight";
    const int64_t width = w.shape(width_name).at(0);
    if (width % c.model_channels != 0)
      throw WeightError(w.source() + ": " + width_name + ": width " + str(width) +
                        " is not a multiple of model_channels " + str(c.model_channels));
    c.channel_mult.push_back(width / c.model_channels);
    c.transformer_depth.push_back(w.has(bp + "1.proj_in.weight") ? note_transformer(bp + "1.") : 0);
  }
  for (int64_t r : res_blocks)
    if (r != res_blocks[0] || r == 0)
      throw WeightError(w.source() + ": " + p + "input_blocks: levels hold different numbers " +
                        "of ResBlocks (" + join(res_blocks) + ")");
  c.num_res_blocks = res_blocks[0];
  c.middle_transformer_depth =
      w.has(p + "middle_block.1.proj_in.weight") ? note_transformer(p + "middle_block.1.") : 0;

  c.num_heads = c.linear_proj ? 0 : 8;
  c.head_channels = c.linear_proj ? 64 : 0;
  return c;
}

UNetModel::UNetModel(Weights& w, const std::string& p, UNetConfig config)
    : config_(std::move(config)) {
  const UNetConfig& c = config_;
  if ((c.num_heads > 0) == (c.head_channels > 0))
    throw std::invalid_argument("UNetConfig: exactly one of num_heads and head_channels is set");
  if (c.channel_mult.empty() || c.transformer_depth.size() != c.channel_mult.size())
    throw std::invalid_argument("UNetConfig: channel_mult and transformer_depth differ in length");

  const int64_t emb = c.time_embed_dim, mc = c.model_channels;
  time_embed_0 = unet::take_linear(w, p + "time_embed.0.", emb, mc);
  time_embed_2 = unet::take_linear(w, p + "time_embed.2.", emb, emb);
  if (c.adm_in_channels > 0) {
    label_emb_0 = unet::take_linear(w, p + "label_emb.0.0.", emb, c.adm_in_channels);
    label_emb_2 = unet::take_linear(w, p + "label_emb.0.2.", emb, emb);
  }
  conv_in = unet::take_conv(w, p + "input_blocks.0.0.", mc, c.in_channels, 3);

  auto transformer = [&](const std::string& tp, int64_t ch, int64_t depth) {
    const int64_t split = c.num_heads > 0 ? c.num_heads : c.head_channels;
    if (ch % split != 0)
      throw WeightError(w.source() + ": " + tp + "proj_in.weight: " + str(ch) +
                        " channels do not split into " +
                        (c.num_heads > 0 ? str(split) + " heads" : "heads of " + str(split)));
    const int64_t heads = c.num_heads > 0 ? c.num_heads : ch / c.head_channels;
    return SpatialTransformer(w, tp, ch, c.context_dim, depth, c.linear_proj, heads);
  };
  auto finish = [&](const std::string& bp, const Block& b) {
    expect_count(w, bp, int64_t(b.size()), "layers");
  };

  // Down: the width each input block leaves is what the mirrored output
  // block concatenates.
  std::vector<int64_t> skip_widths{mc};
  int64_t ch = mc;
  for (int64_t level = 0; level < c.levels(); ++level) {
    const int64_t width = c.channel_mult[level] * mc;
    for (int64_t r = 0; r < c.num_res_blocks; ++r) {
      const std::string bp = p + "input_blocks." + str(int64_t(input_blocks.size()) + 1) + ".";
      Block b;
      b.emplace_back(ResBlock(w, bp + "0.", ch, width, emb));
      ch = width;
      if (c.transformer_depth[level] > 0)
        b.emplace_back(transformer(bp + "1.", ch, c.transformer_depth[level]));
      finish(bp, b);
      input_blocks.push_back(std::move(b));
      skip_widths.push_back(ch);
    }
    if (level + 1 < c.levels()) {
      const std::string bp = p + "input_blocks." + str(int64_t(input_blocks.size()) + 1) + ".";
      Block b;
      b.emplace_back(Downsample(w, bp + "0.", ch));
      finish(bp, b);
      input_blocks.push_back(std::move(b));
      skip_widths.push_back(ch);
    }
  }
  expect_count(w, p + "input_blocks.", int64_t(input_blocks.size()) + 1, "blocks");

  middle_block.emplace_back(ResBlock(w, p + "middle_block.0.", ch, ch, emb));
  if (c.middle_transformer_depth > 0)
    middle_block.emplace_back(transformer(p + "middle_block.1.", ch, c.middle_transformer_depth));
  middle_block.emplace_back(
      ResBlock(w, p + "middle_block." + str(int64_t(middle_block.size())) + ".", ch, ch, emb));
  expect_count(w, p + "middle_block.", int64_t(middle_block.size()), "layers");

  for (int64_t level = c.levels() - 1; level >= 0; --level) {
    const int64_t width = c.channel_mult[level] * mc;
    for (int64_t r = 0; r <= c.num_res_blocks; ++r) {
      const std::string bp = p + "output_blocks." + str(int64_t(output_blocks.size())) + ".";
      Block b;
      b.emplace_back(ResBlock(w, bp + "0.", ch + skip_widths.back(), width, emb));
      skip_widths.pop_back();
      ch = width;
      if (c.transformer_depth[level] > 0)
        b.emplace_back(transformer(bp + "1.", ch, c.transformer_depth[level]));
      if (level > 0 && r == c.num_res_blocks)
        b.emplace_back(Upsample(w, bp + str(int64_t(b.size())) + ".", ch));
      finish(bp, b);
      output_blocks.push_back(std::move(b));
    }
  }
  expect_count(w, p + "output_blocks.", int64_t(output_blocks.size()), "blocks");

  out_norm = unet::take_group_norm(w, p + "out.0.", ch);
  out_conv = unet::take_conv(w, p + "out.2.", c.out_channels, ch, 3);
}

torch::Tensor UNetModel::run(const Block& block, torch::Tensor h, const torch::Tensor& silu_emb,
                             const torch::Tensor& context) const {
  for (const Layer& layer : block)
    h = std::visit(Overloaded{[&](const ResBlock& l) { return l(h, silu_emb); },
                              [&](const SpatialTransformer& l) { return l(h, context); },
                              [&](const Downsample& l) { return l(h); },
                              [&](const Upsample& l) { return l(h); }},
                   layer);
  return h;
}

torch::Tensor UNetModel::forward(const torch::Tensor& x, const torch::Tensor& t,
                                 const torch::Tensor& context, const torch::Tensor& y) const {
  const UNetConfig& c = config_;
  auto bad = [](const std::string& what) { throw std::invalid_argument("UNet input: " + what); };
  if (x.dim() != 4 || x.size(1) != c.in_channels)
    bad("x must be (B, " + str(c.in_channels) + ", H, W)");
  const int64_t b = x.size(0), m = c.size_multiple();
  if (x.size(2) % m != 0 || x.size(3) % m != 0)
    bad("height and width must be multiples of " + str(m) + ", found " + str(x.size(2)) + "x" +
        str(x.size(3)));
  if (t.dim() > 1 || (t.dim() == 1 && t.size(0) != b && t.size(0) != 1))
    bad("t must hold one timestep per batch item");
  const bool attends = c.middle_transformer_depth > 0 ||
                       std::any_of(c.transformer_depth.begin(), c.transformer_depth.end(),
                                   [](int64_t d) { return d > 0; });
  if (attends && (!context.defined() || context.dim() != 3 || context.size(0) != b ||
                  context.size(2) != c.context_dim))
    bad("context must be (B, tokens, " + str(c.context_dim) + ")");
  if (c.adm_in_channels > 0 &&
      (!y.defined() || y.dim() != 2 || y.size(0) != b || y.size(1) != c.adm_in_channels))
    bad("y must be (B, " + str(c.adm_in_channels) + ")");
  if (c.adm_in_channels == 0 && y.defined()) bad("this model takes no y");

  torch::Tensor steps = t.to(x.device()).reshape({-1}).expand({b});
  torch::Tensor emb = timestep_embedding(steps, c.model_channels).to(x.scalar_type());
  emb = time_embed_2(torch::silu(time_embed_0(emb)));
  if (c.adm_in_channels > 0) emb = emb + label_emb_2(torch::silu(label_emb_0(y)));
  // Every ResBlock projects SiLU(emb); compute it once.
  const torch::Tensor silu_emb = torch::silu(emb);

  std::vector<torch::Tensor> skips;
  skips.reserve(input_blocks.size() + 1);
  torch::Tensor h = conv_in(x);
  skips.push_back(h);
  for (const Block& block : input_blocks) {
    h = run(block, h, silu_emb, context);
    skips.push_back(h);
  }
  h = run(middle_block, h, silu_emb, context);
  for (const Block& block : output_blocks) {
    h = torch::cat({h, skips.back()}, 1);
    skips.pop_back();  // frees the skip as soon as it is consumed
    h = run(block, h, silu_emb, context);
  }
  return out_conv(torch::silu(out_norm(h)));
}

}  // namespace atelier::ml::sd
