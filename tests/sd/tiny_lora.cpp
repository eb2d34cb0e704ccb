// Random kohya LoRA files (see tiny_lora.h).
#include "tiny_lora.h"

#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <stdexcept>

namespace atelier::test::sd {
namespace {

using Shape = std::vector<int64_t>;

class Lister {
 public:
  Lister(const KohyaLoraOptions& o, std::vector<LoraModuleSpec>& out) : o_(o), out_(out) {}

  void linear(const std::string& name, int64_t out, int64_t in) {
    out_.push_back({name, {o_.rank, in}, {out, o_.rank}, o_.alpha});
  }
  void conv(const std::string& name, int64_t out, int64_t in, int64_t k) {
    out_.push_back({name, {o_.rank, in, k, k}, {out, o_.rank, 1, 1}, o_.alpha});
  }

  // Transformer2DModel / SpatialTransformer, inner width ch.
  void transformer(const std::string& p, int64_t ch, int depth, int64_t context, bool linear_proj) {
    if (!o_.unet_attention) return;
    for (const char* proj : {"proj_in", "proj_out"})
      linear_proj ? linear(p + proj, ch, ch) : conv(p + proj, ch, ch, 1);
    for (int k = 0; k < depth; ++k) {
      const std::string b = p + "transformer_blocks_" + std::to_string(k) + "_";
      for (const char* m : {"to_q", "to_k", "to_v", "to_out_0"}) {
        linear(b + "attn1_" + m, ch, ch);
        const bool kv = std::strcmp(m, "to_k") == 0 || std::strcmp(m, "to_v") == 0;
        linear(b + "attn2_" + m, ch, kv ? context : ch);
      }
      linear(b + "ff_net_0_proj", 8 * ch, ch);
      linear(b + "ff_net_2", ch, 4 * ch);
    }
  }

  void resnet(const std::string& p, int64_t in, int64_t out, int64_t emb) {
    if (!o_.convs) return;
    conv(p + "conv1", out, in, 3);
    linear(p + "time_emb_proj", out, emb);
    conv(p + "conv2", out, out, 3);
    if (in != out) conv(p + "conv_shortcut", out, in, 1);
  }

  void text_encoder(const std::string& p, int64_t width, int layers) {
    if (!o_.text_encoders) return;
    for (int i = 0; i < layers; ++i) {
      const std::string l = p + "text_model_encoder_layers_" + std::to_string(i) + "_";
      for (const char* m :
           {"self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj", "self_attn_out_proj"})
        linear(l + m, width, width);
      linear(l + "mlp_fc1", 4 * width, width);
      linear(l + "mlp_fc2", width, 4 * width);
    }
  }

 private:
  const KohyaLoraOptions& o_;
  std::vector<LoraModuleSpec>& out_;
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

std::vector<float> normals(const std::string& name, uint64_t seed, size_t n, double scale) {
  std::mt19937_64 rng(seed ^ fnv1a(name));
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i += 2) {
    const double u1 = (double(rng() >> 11) + 1.0) / 9007199254740993.0;
    const double u2 = double(rng() >> 11) / 9007199254740992.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    v[i] = float(scale * r * std::cos(2 * std::numbers::pi * u2));
    if (i + 1 < n) v[i + 1] = float(scale * r * std::sin(2 * std::numbers::pi * u2));
  }
  return v;
}

std::vector<std::byte> encode(const std::vector<float>& v, ml::DType dtype) {
  std::vector<std::byte> b;
  if (dtype == ml::DType::F32) {
    b.resize(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
  } else if (dtype == ml::DType::F16 || dtype == ml::DType::BF16) {
    b.resize(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      const uint16_t h =
          dtype == ml::DType::F16 ? ml::float_to_half(v[i]) : ml::float_to_bf16(v[i]);
      std::memcpy(b.data() + 2 * i, &h, 2);
    }
  } else {
    throw std::invalid_argument("write_kohya_lora: F32, F16 or BF16 only");
  }
  return b;
}

}  // namespace

std::vector<LoraModuleSpec> kohya_lora_modules(const TinySdConfig& c, const KohyaLoraOptions& o) {
  c.validate();
  std::vector<LoraModuleSpec> out;
  Lister l(o, out);
  const int64_t mc = c.model_channels, nrb = c.num_res_blocks, emb = 4 * mc;
  const int64_t levels = int64_t(c.channel_mult.size()), ctx = c.context_dim();
  const bool linear_proj = c.family != TinyFamily::sd1;
  auto unet = [&](const std::string& diffusers, const std::string& ldm) {
    return "lora_unet_" + (o.ldm_unet_names ? ldm : diffusers);
  };
  auto s = [](int64_t v) { return std::to_string(v); };

  std::vector<int64_t> skips{mc};
  int64_t ch = mc;
  for (int64_t level = 0; level < levels; ++level) {
    const int64_t width = c.channel_mult[level] * mc;
    for (int64_t r = 0; r < nrb; ++r) {
      const std::string d = "down_blocks_" + s(level) + "_";
      const std::string ldm = "input_blocks_" + s(1 + level * (nrb + 1) + r) + "_";
      l.resnet(unet(d + "resnets_" + s(r) + "_", ldm + "0_"), ch, width, emb);
      ch = width;
      if (c.transformer_depth[level] > 0)
        l.transformer(unet(d + "attentions_" + s(r) + "_", ldm + "1_"), ch,
                      c.transformer_depth[level], ctx, linear_proj);
      skips.push_back(ch);
    }
    if (level + 1 < levels) {
      if (o.convs)
        l.conv(unet("down_blocks_" + s(level) + "_downsamplers_0_conv",
                    "input_blocks_" + s(1 + level * (nrb + 1) + nrb) + "_0_op"),
               ch, ch, 3);
      skips.push_back(ch);
    }
  }
  l.resnet(unet("mid_block_resnets_0_", "middle_block_0_"), ch, ch, emb);
  if (c.transformer_depth_middle > 0)
    l.transformer(unet("mid_block_attentions_0_", "middle_block_1_"), ch,
                  c.transformer_depth_middle, ctx, linear_proj);
  l.resnet(unet("mid_block_resnets_1_",
                c.transformer_depth_middle > 0 ? "middle_block_2_" : "middle_block_1_"),
           ch, ch, emb);
  for (int64_t i = 0; i < levels; ++i) {
    const int64_t level = levels - 1 - i, width = c.channel_mult[level] * mc;
    const bool attends = c.transformer_depth[level] > 0;
    for (int64_t r = 0; r <= nrb; ++r) {
      const std::string d = "up_blocks_" + s(i) + "_";
      const std::string ldm = "output_blocks_" + s(i * (nrb + 1) + r) + "_";
      l.resnet(unet(d + "resnets_" + s(r) + "_", ldm + "0_"), ch + skips.back(), width, emb);
      skips.pop_back();
      ch = width;
      if (attends)
        l.transformer(unet(d + "attentions_" + s(r) + "_", ldm + "1_"), ch,
                      c.transformer_depth[level], ctx, linear_proj);
      if (o.convs && level > 0 && r == nrb)
        l.conv(unet(d + "upsamplers_0_conv", ldm + (attends ? "2" : "1") + "_conv"), ch, ch, 3);
    }
  }

  switch (c.family) {
    case TinyFamily::sd1:
      l.text_encoder("lora_te_", c.clip_l.width, c.clip_l.layers);
      break;
    case TinyFamily::sd2:
      l.text_encoder("lora_te_", c.open_clip.width, c.open_clip.layers);
      break;
    case TinyFamily::sdxl:
      l.text_encoder("lora_te1_", c.clip_l.width, c.clip_l.layers);
      l.text_encoder("lora_te2_", c.open_clip.width, c.open_clip.layers);
      break;
  }
  return out;
}

void write_kohya_lora(const std::filesystem::path& path, const std::vector<LoraModuleSpec>& modules,
                      uint64_t seed, ml::DType dtype,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<std::vector<std::byte>> buffers;
  buffers.reserve(3 * modules.size());
  std::vector<ml::TensorToWrite> tensors;
  auto numel = [](const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return size_t(n);
  };
  for (const LoraModuleSpec& m : modules) {
    const std::string down = m.name + ".lora_down.weight", up = m.name + ".lora_up.weight";
    const size_t fan_in = numel(m.down) / size_t(m.down.at(0));
    buffers.push_back(
        encode(normals(down, seed, numel(m.down), 1.0 / std::sqrt(double(fan_in))), dtype));
    tensors.push_back({down, dtype, m.down, buffers.back()});
    buffers.push_back(encode(normals(up, seed, numel(m.up), 0.1), dtype));
    tensors.push_back({up, dtype, m.up, buffers.back()});
    if (m.alpha) {
      buffers.push_back(encode({*m.alpha}, ml::DType::F32));
      tensors.push_back({m.name + ".alpha", ml::DType::F32, {}, buffers.back()});
    }
  }
  ml::write_safetensors(path, std::move(tensors), metadata);
}

}  // namespace atelier::test::sd
