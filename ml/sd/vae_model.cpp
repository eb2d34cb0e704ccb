// The SD AutoencoderKL (see vae_model.h).
#include "ml/sd/vae_model.h"

#include <algorithm>
#include <cmath>

namespace atelier::ml::sd {

namespace {

constexpr double kNormEps = 1e-6;  // every VAE GroupNorm, unlike the UNet's 1e-5
constexpr int64_t kGroups = 32;
// Query rows per attention chunk: bounds the score matrix of the mid block at
// 4096 x N floats (a whole 1024-pixel SDXL decode attends over N = 16384).
constexpr int64_t kQueryChunk = 4096;

std::string idx(const std::string& prefix, int64_t i) {
  return prefix + std::to_string(i) + ".";
}

// A convolution whose kernel must be [out, in, k, k].
Conv2d conv(Weights& w, const std::string& p, int64_t in, int64_t out, int64_t k,
            int64_t stride = 1) {
  w.take(p + "weight", {out, in, k, k});
  return load_conv(w, p, stride);
}

GroupNorm norm(Weights& w, const std::string& p, int64_t channels) {
  w.take(p + "weight", {channels});
  return load_group_norm(w, p, kGroups, kNormEps);
}

// A 1x1 projection stored either as a conv kernel [c, c, 1, 1] or, in some
// converted files, as a linear weight [c, c].
Conv2d projection(Weights& w, const std::string& p, int64_t c) {
  if (w.has(p + "weight") && w.shape(p + "weight").size() == 2) {
    Conv2d out;
    out.weight = w.take(p + "weight", {c, c}).reshape({c, c, 1, 1});
    out.bias = w.take(p + "bias", {c});
    return out;
  }
  return conv(w, p, c, c, 1);
}

VaeResnetBlock resnet(Weights& w, const std::string& p, int64_t in, int64_t out) {
  VaeResnetBlock b;
  b.norm1 = norm(w, p + "norm1.", in);
  b.conv1 = conv(w, p + "conv1.", in, out, 3);
  b.norm2 = norm(w, p + "norm2.", out);
  b.conv2 = conv(w, p + "conv2.", out, out, 3);
  if (in != out) b.nin_shortcut = conv(w, p + "nin_shortcut.", in, out, 1);
  return b;
}

VaeAttnBlock attn(Weights& w, const std::string& p, int64_t c) {
  VaeAttnBlock a;
  a.norm = norm(w, p + "norm.", c);
  a.q = projection(w, p + "q.", c);
  a.k = projection(w, p + "k.", c);
  a.v = projection(w, p + "v.", c);
  a.proj_out = projection(w, p + "proj_out.", c);
  return a;
}

VaeMid mid(Weights& w, const std::string& p, int64_t c) {
  return {resnet(w, p + "block_1.", c, c), attn(w, p + "attn_1.", c),
          resnet(w, p + "block_2.", c, c)};
}

void expect_count(const Weights& w, const std::string& prefix, int64_t want) {
  const int64_t found = w.count_indexed(prefix);
  if (found != want)
    throw WeightError(w.source() + ": " + prefix + "*: expected " + std::to_string(want) +
                      " blocks, found " + std::to_string(found));
}

VaeEncoder encoder(Weights& w, const std::string& p, const VaeConfig& c) {
  VaeEncoder e;
  e.conv_in = conv(w, p + "conv_in.", c.in_channels, c.ch, 3);
  int64_t in = c.ch;
  for (int64_t i = 0; i < c.levels(); ++i) {
    const std::string lp = idx(p + "down.", i);
    const int64_t out = c.ch * c.ch_mult[i];
    expect_count(w, lp + "block.", c.num_res_blocks);
    VaeLevel level;
    for (int64_t j = 0; j < c.num_res_blocks; ++j) {
      level.blocks.push_back(resnet(w, idx(lp + "block.", j), in, out));
      if (c.attn[i]) level.attns.push_back(attn(w, idx(lp + "attn.", j), out));
      in = out;
    }
    if (i + 1 < c.levels()) {
      Conv2d down = conv(w, lp + "downsample.conv.", out, out, 3, 2);
      down.padding = 0;  // the (0,1,0,1) pad is applied before it
      level.resample = down;
    }
    e.down.push_back(std::move(level));
  }
  e.mid = mid(w, p + "mid.", in);
  e.norm_out = norm(w, p + "norm_out.", in);
  e.conv_out = conv(w, p + "conv_out.", in, 2 * c.z_channels, 3);
  return e;
}

VaeDecoder decoder(Weights& w, const std::string& p, const VaeConfig& c) {
  VaeDecoder d;
  int64_t in = c.ch * c.ch_mult.back();
  d.conv_in = conv(w, p + "conv_in.", c.z_channels, in, 3);
  d.mid = mid(w, p + "mid.", in);
  d.up.resize(c.levels());
  for (int64_t i = c.levels() - 1; i >= 0; --i) {
    const std::string lp = idx(p + "up.", i);
    const int64_t out = c.ch * c.ch_mult[i];
    expect_count(w, lp + "block.", c.num_res_blocks + 1);
    VaeLevel& level = d.up[i];
    for (int64_t j = 0; j <= c.num_res_blocks; ++j) {
      level.blocks.push_back(resnet(w, idx(lp + "block.", j), in, out));
      if (c.attn[i]) level.attns.push_back(attn(w, idx(lp + "attn.", j), out));
      in = out;
    }
    if (i > 0) level.resample = conv(w, lp + "upsample.conv.", out, out, 3);
  }
  d.norm_out = norm(w, p + "norm_out.", in);
  d.conv_out = conv(w, p + "conv_out.", in, c.out_channels, 3);
  return d;
}

torch::Tensor run_level(const VaeLevel& level, torch::Tensor h) {
  for (size_t j = 0; j < level.blocks.size(); ++j) {
    h = level.blocks[j](h);
    if (!level.attns.empty()) h = level.attns[j](h);
  }
  return h;
}

// Feathering weights along one axis of one tile, in output pixels: a ramp
// rising across the overlap with the previous tile and falling across the
// overlap with the next, 1 elsewhere. Ramps of adjacent tiles sum to 1 over
// their shared span; the blend divides by the sum anyway, so uneven overlaps
// (the last tile is aligned to the edge) stay exact.
torch::Tensor ramp(int64_t len, int64_t rise, int64_t fall, const torch::TensorOptions& opt) {
  torch::Tensor r = torch::ones({len}, opt);
  if (rise > 0) r.slice(0, 0, rise).copy_((torch::arange(rise, opt) + 0.5) / double(rise));
  if (fall > 0)
    r.slice(0, len - fall, len).mul_((torch::arange(fall - 1, -1, -1, opt) + 0.5) / double(fall));
  return r;
}

// Tile starts along an axis of `size` latents: a stride of tile - overlap,
// the last tile aligned to the end.
std::vector<int64_t> tile_starts(int64_t size, int64_t tile, int64_t overlap) {
  if (size <= tile) return {0};
  std::vector<int64_t> s;
  for (int64_t p = 0;; p += tile - overlap) {
    if (p + tile >= size) {
      s.push_back(size - tile);
      break;
    }
    s.push_back(p);
  }
  return s;
}

}  // namespace

VaeConfig VaeConfig::infer(const Weights& w, const std::string& prefix) {
  const std::string e = prefix + "encoder.";
  VaeConfig c;
  const std::vector<int64_t> conv_in = w.shape(e + "conv_in.weight");
  c.ch = conv_in.at(0);
  c.in_channels = conv_in.at(1);
  const int levels = w.count_indexed(e + "down.");
  if (levels == 0) throw WeightError(w.source() + ": missing tensor " + e + "down.0.*");
  c.ch_mult.clear();
  c.attn.clear();
  for (int i = 0; i < levels; ++i) {
    const std::string name = idx(e + "down.", i) + "block.0.conv1.weight";
    const int64_t out = w.shape(name).at(0);
    if (out % c.ch != 0)
      throw WeightError(w.source() + ": " + name + ": " + std::to_string(out) +
                        " channels are not a multiple of conv_in's " + std::to_string(c.ch));
    c.ch_mult.push_back(out / c.ch);
    c.attn.push_back(w.count_indexed(idx(e + "down.", i) + "attn.") > 0);
  }
  c.num_res_blocks = w.count_indexed(e + "down.0.block.");
  c.z_channels = w.shape(prefix + "decoder.conv_in.weight").at(1);
  c.embed_dim = w.shape(prefix + "post_quant_conv.weight").at(0);
  c.out_channels = w.shape(prefix + "decoder.conv_out.weight").at(0);
  return c;
}

torch::Tensor VaeResnetBlock::operator()(const torch::Tensor& x) const {
  torch::Tensor h = conv1(torch::silu(norm1(x)));
  h = conv2(torch::silu(norm2(h)));
  return (nin_shortcut.weight.defined() ? nin_shortcut(x) : x) + h;
}

torch::Tensor VaeAttnBlock::operator()(const torch::Tensor& x) const {
  const int64_t b = x.size(0), c = x.size(1), hh = x.size(2), ww = x.size(3), n = hh * ww;
  const torch::Tensor h = norm(x);
  auto tokens = [&](const torch::Tensor& t) { return t.reshape({b, c, n}).transpose(1, 2); };
  const torch::Tensor qt = tokens(q(h)), kt = tokens(k(h)), vt = tokens(v(h));
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < n; s += kQueryChunk)
    parts.push_back(attention(qt.slice(1, s, std::min(n, s + kQueryChunk)), kt, vt, 1));
  torch::Tensor out = (parts.size() == 1 ? parts[0] : torch::cat(parts, 1));
  return x + proj_out(out.transpose(1, 2).reshape({b, c, hh, ww}));
}

torch::Tensor VaeMid::operator()(const torch::Tensor& x) const {
  return block_2(attn_1(block_1(x)));
}

torch::Tensor VaeEncoder::operator()(const torch::Tensor& x) const {
  torch::Tensor h = conv_in(x);
  for (const VaeLevel& level : down) {
    h = run_level(level, h);
    if (level.resample) h = (*level.resample)(torch::constant_pad_nd(h, {0, 1, 0, 1}, 0));
  }
  h = mid(h);
  return conv_out(torch::silu(norm_out(h)));
}

torch::Tensor VaeDecoder::operator()(const torch::Tensor& z) const {
  torch::Tensor h = mid(conv_in(z));
  for (auto level = up.rbegin(); level != up.rend(); ++level) {
    h = run_level(*level, h);
    if (level->resample)
      h = (*level->resample)(torch::upsample_nearest2d(h, {h.size(2) * 2, h.size(3) * 2}));
  }
  return conv_out(torch::silu(norm_out(h)));
}

VaeModel::VaeModel(Weights& w, const std::string& prefix, VaeConfig c) : config_(std::move(c)) {
  if (config_.ch_mult.empty() || config_.attn.size() != config_.ch_mult.size())
    throw std::invalid_argument("VaeConfig: ch_mult and attn need one entry per level");
  encoder_ = encoder(w, prefix + "encoder.", config_);
  decoder_ = decoder(w, prefix + "decoder.", config_);
  quant_conv_ = conv(w, prefix + "quant_conv.", 2 * config_.z_channels, 2 * config_.embed_dim, 1);
  post_quant_conv_ = conv(w, prefix + "post_quant_conv.", config_.embed_dim, config_.z_channels, 1);
  for (const std::string& name : w.names_under(prefix + "loss.")) w.skip(name);
}

torch::Tensor VaeModel::encode_moments(const torch::Tensor& x) const {
  const int64_t f = downscale_factor();
  if (x.dim() != 4 || x.size(1) != config_.in_channels || x.size(2) % f || x.size(3) % f)
    throw std::invalid_argument("VaeModel::encode: expected (B, " +
                                std::to_string(config_.in_channels) + ", H, W) with H and W " +
                                "multiples of " + std::to_string(f) + ", got " +
                                shape_text(x.sizes().vec()));
  return quant_conv_(encoder_(x));
}

torch::Tensor VaeModel::encode(const torch::Tensor& x, std::optional<at::Generator> gen) const {
  const torch::Tensor moments = encode_moments(x);
  const torch::Tensor mean = moments.slice(1, 0, config_.embed_dim);
  if (!gen) return mean;
  const torch::Tensor logvar = moments.slice(1, config_.embed_dim).clamp(-30.0, 20.0);
  return mean + torch::exp(0.5 * logvar) * torch::randn(mean.sizes(), *gen, mean.options());
}

torch::Tensor VaeModel::decode(const torch::Tensor& z) const {
  if (z.dim() != 4 || z.size(1) != config_.embed_dim)
    throw std::invalid_argument("VaeModel::decode: expected (B, " +
                                std::to_string(config_.embed_dim) + ", h, w), got " +
                                shape_text(z.sizes().vec()));
  return decoder_(post_quant_conv_(z));
}

torch::Tensor VaeModel::decode_tiled(const torch::Tensor& z, int64_t tile, int64_t overlap) const {
  if (tile < 1 || overlap < 0 || overlap >= tile)
    throw std::invalid_argument("VaeModel::decode_tiled: need 0 <= overlap < tile, got tile " +
                                std::to_string(tile) + ", overlap " + std::to_string(overlap));
  const int64_t h = z.size(2), w = z.size(3), f = downscale_factor();
  if (h <= tile && w <= tile) return decode(z);
  const std::vector<int64_t> ys = tile_starts(h, tile, overlap), xs = tile_starts(w, tile, overlap);
  const torch::TensorOptions opt = z.options();
  torch::Tensor out, weight = torch::zeros({1, 1, h * f, w * f}, opt);
  // Overlap (in latents) of tile i with its neighbours along one axis.
  auto shared = [](const std::vector<int64_t>& s, size_t i, int64_t len, int64_t size) {
    const int64_t end = std::min(s[i] + len, size);
    const int64_t rise = i > 0 ? std::min(s[i - 1] + len, size) - s[i] : 0;
    const int64_t fall = i + 1 < s.size() ? end - s[i + 1] : 0;
    return std::pair{std::max<int64_t>(rise, 0), std::max<int64_t>(fall, 0)};
  };
  for (size_t iy = 0; iy < ys.size(); ++iy) {
    const int64_t y0 = ys[iy], th = std::min(tile, h - y0);
    const auto [ry, fy] = shared(ys, iy, tile, h);
    const torch::Tensor wy = ramp(th * f, ry * f, fy * f, opt);
    for (size_t ix = 0; ix < xs.size(); ++ix) {
      const int64_t x0 = xs[ix], tw = std::min(tile, w - x0);
      const auto [rx, fx] = shared(xs, ix, tile, w);
      const torch::Tensor wx = ramp(tw * f, rx * f, fx * f, opt);
      const torch::Tensor img = decode(z.slice(2, y0, y0 + th).slice(3, x0, x0 + tw));
      if (!out.defined()) out = torch::zeros({z.size(0), img.size(1), h * f, w * f}, opt);
      const torch::Tensor mask = (wy.unsqueeze(1) * wx.unsqueeze(0)).view({1, 1, th * f, tw * f});
      out.slice(2, y0 * f, (y0 + th) * f).slice(3, x0 * f, (x0 + tw) * f).add_(img * mask);
      weight.slice(2, y0 * f, (y0 + th) * f).slice(3, x0 * f, (x0 + tw) * f).add_(mask);
    }
  }
  return out / weight;
}

}  // namespace atelier::ml::sd
