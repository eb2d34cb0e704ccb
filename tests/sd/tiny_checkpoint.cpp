// Random-weight SD checkpoints and a test tokenizer (see tiny_checkpoint.h).
// One listing (specs) drives both the shapes and the writer, so the two cannot
// disagree about what a file holds.
#include "tiny_checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numbers>
#include <random>
#include <set>
#include <stdexcept>

namespace atelier::test::sd {
namespace {

using json = nlohmann::json;
using Shape = std::vector<int64_t>;

// How a tensor is filled.
enum class Init {
  weight,        // normal / sqrt(fan_in), fan_in = product of dims after the first
  projection,    // text_projection [width, embed]: normal / sqrt(width)
  bias,          // small noise
  norm_weight,   // 1 + small noise
  norm_bias,     // small noise
  embedding,     // normal * 0.02
  logit_scale,   // log(1 / 0.07), open_clip's initial value
  position_ids,  // I64 0..n-1
  ema_decay,     // 0.9999
  ema_updates,   // I32 0
  schedule,      // a DDPM table, by name
  sigmas,        // SGM's DiscreteDenoiser sigmas, ascending
};

struct Spec {
  std::string name;
  Shape shape;
  Init init;
};

class Lister {
 public:
  std::vector<Spec> specs;

  void add(const std::string& name, Shape shape, Init init) {
    specs.push_back({name, std::move(shape), init});
  }
  void linear(const std::string& p, int64_t out, int64_t in, bool bias = true) {
    add(p + "weight", {out, in}, Init::weight);
    if (bias) add(p + "bias", {out}, Init::bias);
  }
  void conv(const std::string& p, int64_t out, int64_t in, int64_t k) {
    add(p + "weight", {out, in, k, k}, Init::weight);
    add(p + "bias", {out}, Init::bias);
  }
  void norm(const std::string& p, int64_t ch) {
    add(p + "weight", {ch}, Init::norm_weight);
    add(p + "bias", {ch}, Init::norm_bias);
  }

  // openaimodel.ResBlock
  void unet_res(const std::string& p, int64_t in, int64_t out, int64_t emb) {
    norm(p + "in_layers.0.", in);
    conv(p + "in_layers.2.", out, in, 3);
    linear(p + "emb_layers.1.", out, emb);
    norm(p + "out_layers.0.", out);
    conv(p + "out_layers.3.", out, out, 3);
    if (in != out) conv(p + "skip_connection.", out, in, 1);
  }

  // attention.SpatialTransformer; inner width = ch (heads * head channels).
  void spatial_transformer(const std::string& p, int64_t ch, int depth, int64_t context,
                           bool linear_proj) {
    norm(p + "norm.", ch);
    auto proj = [&](const std::string& q) {
      if (linear_proj)
        linear(q, ch, ch);
      else
        conv(q, ch, ch, 1);
    };
    proj(p + "proj_in.");
    for (int d = 0; d < depth; ++d) {
      std::string b = p + "transformer_blocks." + std::to_string(d) + ".";
      linear(b + "attn1.to_q.", ch, ch, false);
      linear(b + "attn1.to_k.", ch, ch, false);
      linear(b + "attn1.to_v.", ch, ch, false);
      linear(b + "attn1.to_out.0.", ch, ch);
      linear(b + "ff.net.0.proj.", 8 * ch, ch);  // GEGLU: value and gate
      linear(b + "ff.net.2.", ch, 4 * ch);
      linear(b + "attn2.to_q.", ch, ch, false);
      linear(b + "attn2.to_k.", ch, context, false);
      linear(b + "attn2.to_v.", ch, context, false);
      linear(b + "attn2.to_out.0.", ch, ch);
      norm(b + "norm1.", ch);
      norm(b + "norm2.", ch);
      norm(b + "norm3.", ch);
    }
    proj(p + "proj_out.");
  }

  void unet(const TinySdConfig& c) {
    const std::string p = "model.diffusion_model.";
    const int64_t mc = c.model_channels, emb = 4 * mc, ctx = c.context_dim();
    const bool linear_proj = c.family != TinyFamily::sd1;
    linear(p + "time_embed.0.", emb, mc);
    linear(p + "time_embed.2.", emb, emb);
    if (c.family == TinyFamily::sdxl) {
      linear(p + "label_emb.0.0.", emb, c.adm_in_channels());
      linear(p + "label_emb.0.2.", emb, emb);
    }
    conv(p + "input_blocks.0.0.", mc, c.unet_in_channels, 3);
    std::vector<int64_t> skips{mc};
    int64_t ch = mc;
    int block = 1;
    const int levels = static_cast<int>(c.channel_mult.size());
    for (int l = 0; l < levels; ++l) {
      for (int r = 0; r < c.num_res_blocks; ++r, ++block) {
        std::string b = p + "input_blocks." + std::to_string(block) + ".";
        int64_t out = mc * c.channel_mult[l];
        unet_res(b + "0.", ch, out, emb);
        ch = out;
        if (c.transformer_depth[l] > 0)
          spatial_transformer(b + "1.", ch, c.transformer_depth[l], ctx, linear_proj);
        skips.push_back(ch);
      }
      if (l + 1 < levels) {
        conv(p + "input_blocks." + std::to_string(block++) + ".0.op.", ch, ch, 3);
        skips.push_back(ch);
      }
    }
    unet_res(p + "middle_block.0.", ch, ch, emb);
    spatial_transformer(p + "middle_block.1.", ch, c.transformer_depth_middle, ctx, linear_proj);
    unet_res(p + "middle_block.2.", ch, ch, emb);
    block = 0;
    for (int l = levels - 1; l >= 0; --l) {
      for (int r = 0; r <= c.num_res_blocks; ++r, ++block) {
        std::string b = p + "output_blocks." + std::to_string(block) + ".";
        int64_t out = mc * c.channel_mult[l], skip = skips.back();
        skips.pop_back();
        unet_res(b + "0.", ch + skip, out, emb);
        ch = out;
        int sub = 1;
        if (c.transformer_depth[l] > 0)
          spatial_transformer(b + std::to_string(sub++) + ".", ch, c.transformer_depth[l], ctx,
                              linear_proj);
        if (l > 0 && r == c.num_res_blocks) conv(b + std::to_string(sub) + ".conv.", ch, ch, 3);
      }
    }
    norm(p + "out.0.", ch);
    conv(p + "out.2.", c.unet_out_channels, ch, 3);
  }

  // diffusionmodules.model.ResnetBlock / AttnBlock
  void vae_res(const std::string& p, int64_t in, int64_t out) {
    norm(p + "norm1.", in);
    conv(p + "conv1.", out, in, 3);
    norm(p + "norm2.", out);
    conv(p + "conv2.", out, out, 3);
    if (in != out) conv(p + "nin_shortcut.", out, in, 1);
  }
  void vae_mid(const std::string& p, int64_t ch) {
    vae_res(p + "block_1.", ch, ch);
    norm(p + "attn_1.norm.", ch);
    for (const char* n : {"q.", "k.", "v.", "proj_out."}) conv(p + "attn_1." + n, ch, ch, 1);
    vae_res(p + "block_2.", ch, ch);
  }

  void vae(const TinySdConfig& c) {
    const std::string e = "first_stage_model.encoder.", d = "first_stage_model.decoder.";
    const int levels = static_cast<int>(c.vae_ch_mult.size());
    const int64_t z = c.z_channels;
    conv(e + "conv_in.", c.vae_ch, 3, 3);
    int64_t ch = c.vae_ch;
    for (int l = 0; l < levels; ++l) {
      std::string b = e + "down." + std::to_string(l) + ".";
      int64_t out = static_cast<int64_t>(c.vae_ch) * c.vae_ch_mult[l];
      for (int r = 0; r < c.vae_num_res_blocks; ++r, ch = out)
        vae_res(b + "block." + std::to_string(r) + ".", ch, out);
      if (l + 1 < levels) conv(b + "downsample.conv.", ch, ch, 3);
    }
    vae_mid(e + "mid.", ch);
    norm(e + "norm_out.", ch);
    conv(e + "conv_out.", 2 * z, ch, 3);

    conv(d + "conv_in.", ch, z, 3);
    vae_mid(d + "mid.", ch);
    for (int l = levels - 1; l >= 0; --l) {
      std::string b = d + "up." + std::to_string(l) + ".";
      int64_t out = static_cast<int64_t>(c.vae_ch) * c.vae_ch_mult[l];
      for (int r = 0; r <= c.vae_num_res_blocks; ++r, ch = out)
        vae_res(b + "block." + std::to_string(r) + ".", ch, out);
      if (l > 0) conv(b + "upsample.conv.", ch, ch, 3);
    }
    norm(d + "norm_out.", ch);
    conv(d + "conv_out.", 3, ch, 3);
    conv("first_stage_model.quant_conv.", 2 * z, 2 * z, 1);
    conv("first_stage_model.post_quant_conv.", z, z, 1);
  }

  // HF transformers CLIPTextModel (4.19 names, position_ids saved).
  void clip_l(const std::string& prefix, const ClipLSize& s) {
    const std::string p = prefix + "text_model.";
    const int64_t w = s.width;
    add(p + "embeddings.token_embedding.weight", {s.vocab_size, w}, Init::embedding);
    add(p + "embeddings.position_embedding.weight", {s.max_positions, w}, Init::embedding);
    add(p + "embeddings.position_ids", {1, s.max_positions}, Init::position_ids);
    for (int i = 0; i < s.layers; ++i) {
      std::string l = p + "encoder.layers." + std::to_string(i) + ".";
      for (const char* n : {"k_proj.", "v_proj.", "q_proj.", "out_proj."})
        linear(l + "self_attn." + n, w, w);
      norm(l + "layer_norm1.", w);
      linear(l + "mlp.fc1.", 4 * w, w);
      linear(l + "mlp.fc2.", w, 4 * w);
      norm(l + "layer_norm2.", w);
    }
    norm(p + "final_layer_norm.", w);
  }

  // open_clip's text tower (the vision tower is not saved).
  void open_clip(const std::string& p, const OpenClipSize& s) {
    const int64_t w = s.width;
    add(p + "positional_embedding", {s.context_length, w}, Init::embedding);
    add(p + "text_projection", {w, s.embed_dim}, Init::projection);
    add(p + "logit_scale", {}, Init::logit_scale);
    for (int i = 0; i < s.layers; ++i) {
      std::string l = p + "transformer.resblocks." + std::to_string(i) + ".";
      norm(l + "ln_1.", w);
      add(l + "attn.in_proj_weight", {3 * w, w}, Init::weight);
      add(l + "attn.in_proj_bias", {3 * w}, Init::bias);
      linear(l + "attn.out_proj.", w, w);
      norm(l + "ln_2.", w);
      linear(l + "mlp.c_fc.", 4 * w, w);
      linear(l + "mlp.c_proj.", w, 4 * w);
    }
    add(p + "token_embedding.weight", {s.vocab_size, w}, Init::embedding);
    norm(p + "ln_final.", w);
  }
};

const char* const kScheduleNames[] = {
    "betas",
    "alphas_cumprod",
    "alphas_cumprod_prev",
    "sqrt_alphas_cumprod",
    "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
};

std::vector<Spec> specs(const TinySdConfig& c) {
  c.validate();
  Lister ls;
  const int64_t t = c.timesteps;
  if (c.family == TinyFamily::sdxl) {
    ls.add("denoiser.sigmas", {t}, Init::sigmas);
  } else {
    for (const char* n : kScheduleNames) ls.add(n, {t}, Init::schedule);
  }
  if (c.ema_counters) {
    ls.add("model_ema.decay", {}, Init::ema_decay);
    ls.add("model_ema.num_updates", {}, Init::ema_updates);
  }
  ls.unet(c);
  ls.vae(c);
  switch (c.family) {
    case TinyFamily::sd1:
      ls.clip_l("cond_stage_model.transformer.", c.clip_l);
      break;
    case TinyFamily::sd2:
      ls.open_clip("cond_stage_model.model.", c.open_clip);
      break;
    case TinyFamily::sdxl:
      ls.clip_l("conditioner.embedders.0.transformer.", c.clip_l);
      ls.open_clip("conditioner.embedders.1.model.", c.open_clip);
      break;
  }
  return std::move(ls.specs);
}

// LDM's register_schedule with the "linear" schedule (really scaled-linear:
// linear in sqrt(beta)), in double as numpy computes it.
struct Schedule {
  std::vector<double> betas, alphas_cumprod;
};

Schedule ddpm_schedule(const TinySdConfig& c) {
  Schedule s;
  const int n = c.timesteps;
  const double a = std::sqrt(c.linear_start), b = std::sqrt(c.linear_end);
  double prod = 1.0;
  for (int i = 0; i < n; ++i) {
    double r = n == 1 ? a : a + (b - a) * i / (n - 1);
    s.betas.push_back(r * r);
    prod *= 1.0 - r * r;
    s.alphas_cumprod.push_back(prod);
  }
  return s;
}

std::vector<double> schedule_table(const std::string& name, const Schedule& s) {
  const size_t n = s.betas.size();
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    const double beta = s.betas[i], ac = s.alphas_cumprod[i];
    const double prev = i == 0 ? 1.0 : s.alphas_cumprod[i - 1];
    const double post_var = beta * (1.0 - prev) / (1.0 - ac);
    double v = 0;
    if (name == "betas")
      v = beta;
    else if (name == "alphas_cumprod")
      v = ac;
    else if (name == "alphas_cumprod_prev")
      v = prev;
    else if (name == "sqrt_alphas_cumprod")
      v = std::sqrt(ac);
    else if (name == "sqrt_one_minus_alphas_cumprod")
      v = std::sqrt(1.0 - ac);
    else if (name == "log_one_minus_alphas_cumprod")
      v = std::log(1.0 - ac);
    else if (name == "sqrt_recip_alphas_cumprod")
      v = std::sqrt(1.0 / ac);
    else if (name == "sqrt_recipm1_alphas_cumprod")
      v = std::sqrt(1.0 / ac - 1.0);
    else if (name == "posterior_variance")
      v = post_var;
    else if (name == "posterior_log_variance_clipped")
      v = std::log(std::max(post_var, 1e-20));
    else if (name == "posterior_mean_coef1")
      v = beta * std::sqrt(prev) / (1.0 - ac);
    else if (name == "posterior_mean_coef2")
      v = (1.0 - prev) * std::sqrt(1.0 - beta) / (1.0 - ac);
    else
      throw std::logic_error("no schedule table " + name);
    out[i] = v;
  }
  return out;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

// Standard normals from a fixed engine: Box-Muller on 53-bit uniforms.
class Normal {
 public:
  explicit Normal(uint64_t seed) : engine_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform(), u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1)), th = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(th);
    has_spare_ = true;
    return r * std::cos(th);
  }

 private:
  double uniform() {  // (0, 1]
    return (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53;
  }
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::vector<double> values(const Spec& s, const TinySdConfig& c, uint64_t seed) {
  const int64_t n = numel(s.shape);
  if (s.init == Init::schedule) return schedule_table(s.name, ddpm_schedule(c));
  if (s.init == Init::sigmas) {
    auto sch = ddpm_schedule(c);
    std::vector<double> out;
    for (double ac : sch.alphas_cumprod) out.push_back(std::sqrt((1.0 - ac) / ac));
    return out;
  }
  std::vector<double> out(static_cast<size_t>(n));
  if (s.init == Init::position_ids || s.init == Init::ema_updates) {
    for (int64_t i = 0; i < n; ++i) out[i] = s.init == Init::position_ids ? i : 0;
    return out;
  }
  if (s.init == Init::ema_decay) return {0.9999};
  if (s.init == Init::logit_scale) return {std::log(1.0 / 0.07)};
  Normal normal(seed ^ fnv1a(s.name) * 0x9E3779B97F4A7C15ull);
  double scale = 0.02, offset = 0;
  switch (s.init) {
    case Init::weight:
      scale = 1.0 / std::sqrt(static_cast<double>(n / s.shape[0]));
      break;
    case Init::projection:
      scale = 1.0 / std::sqrt(static_cast<double>(s.shape[0]));
      break;
    case Init::norm_weight:
      scale = 0.05, offset = 1.0;
      break;
    case Init::bias:
    case Init::norm_bias:
      scale = 0.05;
      break;
    default:
      break;
  }
  for (auto& v : out) v = offset + scale * normal();
  return out;
}

ml::DType stored_dtype(Init init, ml::DType floats) {
  if (init == Init::position_ids) return ml::DType::I64;
  if (init == Init::ema_updates) return ml::DType::I32;
  return floats;
}

std::vector<std::byte> encode(const std::vector<double>& v, ml::DType dt) {
  std::vector<std::byte> out(v.size() * ml::dtype_size(dt));
  auto put = [&](size_t i, auto x) { std::memcpy(out.data() + i * sizeof(x), &x, sizeof(x)); };
  for (size_t i = 0; i < v.size(); ++i) {
    switch (dt) {
      case ml::DType::F32:
        put(i, static_cast<float>(v[i]));
        break;
      case ml::DType::F16:
        put(i, ml::float_to_half(static_cast<float>(v[i])));
        break;
      case ml::DType::BF16:
        put(i, ml::float_to_bf16(static_cast<float>(v[i])));
        break;
      case ml::DType::I64:
        put(i, static_cast<int64_t>(v[i]));
        break;
      case ml::DType::I32:
        put(i, static_cast<int32_t>(v[i]));
        break;
      default:
        throw std::invalid_argument("write_sd_checkpoint: unsupported dtype");
    }
  }
  return out;
}

json int_list(const std::vector<int>& v) {
  return json(v);
}

json clip_l_json(const ClipLSize& s) {
  return {{"vocab_size", s.vocab_size},       {"hidden_size", s.width},
          {"intermediate_size", 4 * s.width}, {"num_hidden_layers", s.layers},
          {"num_attention_heads", s.heads},   {"max_position_embeddings", s.max_positions},
          {"hidden_act", "quick_gelu"}};
}

json open_clip_json(const OpenClipSize& s) {
  return {{"embed_dim", s.embed_dim},
          {"text_cfg",
           {{"context_length", s.context_length},
            {"vocab_size", s.vocab_size},
            {"width", s.width},
            {"heads", s.heads},
            {"layers", s.layers}}}};
}

json ddconfig(const TinySdConfig& c) {
  return {{"double_z", true},
          {"z_channels", c.z_channels},
          {"resolution", 256},
          {"in_channels", 3},
          {"out_ch", 3},
          {"ch", c.vae_ch},
          {"ch_mult", int_list(c.vae_ch_mult)},
          {"num_res_blocks", c.vae_num_res_blocks},
          {"attn_resolutions", json::array()},
          {"dropout", 0.0}};
}

json unet_params(const TinySdConfig& c) {
  json u = {{"in_channels", c.unet_in_channels},
            {"out_channels", c.unet_out_channels},
            {"model_channels", c.model_channels},
            {"num_res_blocks", c.num_res_blocks},
            {"channel_mult", int_list(c.channel_mult)},
            {"context_dim", c.context_dim()},
            {"use_checkpoint", false},
            {"legacy", false}};
  json res = json::array();
  for (size_t l = 0; l < c.channel_mult.size(); ++l)
    if (c.transformer_depth[l] > 0) res.push_back(1 << l);
  u["attention_resolutions"] = res;
  if (c.num_head_channels > 0)
    u["num_head_channels"] = c.num_head_channels;
  else
    u["num_heads"] = c.num_heads;
  if (c.family != TinyFamily::sd1) u["use_linear_in_transformer"] = true;
  if (c.family == TinyFamily::sdxl) {
    u["transformer_depth"] = int_list(c.transformer_depth);
    u["transformer_depth_middle"] = c.transformer_depth_middle;
    u["adm_in_channels"] = c.adm_in_channels();
    u["num_classes"] = "sequential";
  } else {
    u["use_spatial_transformer"] = true;
    int depth = 1;
    for (int d : c.transformer_depth) depth = std::max(depth, d);
    u["transformer_depth"] = depth;
  }
  return u;
}

json ldm_config(const TinySdConfig& c) {
  if (c.family == TinyFamily::sdxl) {
    return {
        {"target", "sgm.models.diffusion.DiffusionEngine"},
        {"params",
         {{"scale_factor", c.scale_factor},
          {"denoiser_config",
           {{"target", "sgm.modules.diffusionmodules.denoiser.DiscreteDenoiser"},
            {"params",
             {{"num_idx", c.timesteps},
              {"discretization_config",
               {{"target", "sgm.modules.diffusionmodules.discretizer.LegacyDDPMDiscretization"},
                {"params", {{"linear_start", c.linear_start}, {"linear_end", c.linear_end}}}}}}}}},
          {"network_config",
           {{"target", "sgm.modules.diffusionmodules.openaimodel.UNetModel"},
            {"params", unet_params(c)}}},
          {"first_stage_config",
           {{"target", "sgm.models.autoencoder.AutoencoderKL"},
            {"params", {{"embed_dim", c.z_channels}, {"ddconfig", ddconfig(c)}}}}}}}};
  }
  json params = {{"linear_start", c.linear_start},
                 {"linear_end", c.linear_end},
                 {"timesteps", c.timesteps},
                 {"channels", c.z_channels},
                 {"conditioning_key", "crossattn"},
                 {"scale_factor", c.scale_factor},
                 {"unet_config",
                  {{"target", "ldm.modules.diffusionmodules.openaimodel.UNetModel"},
                   {"params", unet_params(c)}}},
                 {"first_stage_config",
                  {{"target", "ldm.models.autoencoder.AutoencoderKL"},
                   {"params", {{"embed_dim", c.z_channels}, {"ddconfig", ddconfig(c)}}}}},
                 {"cond_stage_config",
                  {{"target", c.family == TinyFamily::sd1
                                  ? "ldm.modules.encoders.modules.FrozenCLIPEmbedder"
                                  : "ldm.modules.encoders.modules.FrozenOpenCLIPEmbedder"}}}};
  if (c.v_prediction) params["parameterization"] = "v";
  return {{"target", "ldm.models.diffusion.ddpm.LatentDiffusion"}, {"params", params}};
}

}  // namespace

int TinySdConfig::context_dim() const {
  switch (family) {
    case TinyFamily::sd1:
      return clip_l.width;
    case TinyFamily::sd2:
      return open_clip.width;
    case TinyFamily::sdxl:
      return clip_l.width + open_clip.width;
  }
  return 0;
}

int TinySdConfig::adm_in_channels() const {
  return family == TinyFamily::sdxl ? open_clip.embed_dim + 6 * 256 : 0;
}

int TinySdConfig::vae_downscale() const {
  return 1 << (static_cast<int>(vae_ch_mult.size()) - 1);
}

void TinySdConfig::validate() const {
  auto fail = [](const std::string& why) { throw std::invalid_argument("TinySdConfig: " + why); };
  if (channel_mult.empty() || vae_ch_mult.empty()) fail("empty channel_mult");
  if (transformer_depth.size() != channel_mult.size())
    fail("transformer_depth needs one entry per channel_mult level");
  if (model_channels <= 0 || vae_ch <= 0 || num_res_blocks <= 0 || vae_num_res_blocks <= 0)
    fail("channel and block counts must be positive");
  if (model_channels % 32 != 0 || vae_ch % 32 != 0)
    fail("model_channels and vae_ch must be multiples of 32 (GroupNorm(32))");
  if (transformer_depth_middle <= 0) fail("the middle block always has a transformer");
  for (size_t l = 0; l < channel_mult.size(); ++l) {
    int ch = model_channels * channel_mult[l];
    if (transformer_depth[l] <= 0 && l + 1 < channel_mult.size()) continue;
    int heads_div = num_head_channels > 0 ? num_head_channels : num_heads;
    if (heads_div <= 0 || ch % heads_div != 0)
      fail("level " + std::to_string(l) + " has " + std::to_string(ch) +
           " channels, not divisible into heads");
  }
  bool uses_clip_l = family != TinyFamily::sd2, uses_open_clip = family != TinyFamily::sd1;
  if (uses_clip_l && (clip_l.width % clip_l.heads != 0 || clip_l.layers <= 0))
    fail("CLIP-L width must be divisible by its heads");
  if (uses_open_clip && (open_clip.width % open_clip.heads != 0 || open_clip.layers <= 0))
    fail("OpenCLIP width must be divisible by its heads");
  if (timesteps <= 0) fail("timesteps must be positive");
}

TinySdConfig full_size(TinyFamily family) {
  TinySdConfig c;  // the defaults are SD 1.5's
  c.family = family;
  if (family == TinyFamily::sd2) {
    c.num_head_channels = 64;
    c.v_prediction = true;
  } else if (family == TinyFamily::sdxl) {
    c.channel_mult = {1, 2, 4};
    c.transformer_depth = {0, 2, 10};
    c.transformer_depth_middle = 10;
    c.num_head_channels = 64;
    c.scale_factor = 0.13025;
    c.open_clip = {.vocab_size = 49408,
                   .width = 1280,
                   .layers = 32,
                   .heads = 20,
                   .context_length = 77,
                   .embed_dim = 1280};
  }
  return c;
}

TinySdConfig tiny(TinyFamily family) {
  TinySdConfig c = full_size(family);
  c.model_channels = 32;
  c.channel_mult = {1, 2};
  c.num_res_blocks = 1;
  c.transformer_depth =
      family == TinyFamily::sdxl ? std::vector<int>{0, 2} : std::vector<int>{1, 0};
  c.transformer_depth_middle = family == TinyFamily::sdxl ? 2 : 1;
  if (family == TinyFamily::sd1)
    c.num_heads = 2;
  else
    c.num_head_channels = 16;
  c.vae_ch = 32;
  c.vae_ch_mult = {1, 2};
  c.vae_num_res_blocks = 1;
  c.clip_l = {.vocab_size = 1000, .width = 32, .layers = 3, .heads = 4, .max_positions = 77};
  if (family == TinyFamily::sdxl)
    c.open_clip = {.vocab_size = 1000,
                   .width = 48,
                   .layers = 3,
                   .heads = 3,
                   .context_length = 77,
                   .embed_dim = 40};
  else
    c.open_clip = {.vocab_size = 1000,
                   .width = 32,
                   .layers = 3,
                   .heads = 4,
                   .context_length = 77,
                   .embed_dim = 24};
  c.ema_counters = family == TinyFamily::sd1;
  return c;
}

ShapeList sd_checkpoint_shapes(const TinySdConfig& c) {
  ShapeList out;
  for (auto& s : specs(c)) out.emplace_back(std::move(s.name), std::move(s.shape));
  return out;
}

std::map<std::string, std::string> sd_checkpoint_metadata(const TinySdConfig& c) {
  c.validate();
  std::map<std::string, std::string> m;
  m["format"] = "pt";
  m["config"] = ldm_config(c).dump();
  if (c.family != TinyFamily::sd2) m["tiny_clip_l"] = clip_l_json(c.clip_l).dump();
  if (c.family != TinyFamily::sd1) m["tiny_open_clip"] = open_clip_json(c.open_clip).dump();
  m["modelspec.prediction_type"] = c.v_prediction ? "v" : "epsilon";
  return m;
}

void write_sd_checkpoint(const std::filesystem::path& path, const TinySdConfig& c, uint64_t seed,
                         ml::DType dtype,
                         const std::map<std::string, std::string>& extra_metadata) {
  if (dtype != ml::DType::F32 && dtype != ml::DType::F16 && dtype != ml::DType::BF16)
    throw std::invalid_argument("write_sd_checkpoint: weights must be F32, F16 or BF16");
  auto all = specs(c);
  std::vector<std::vector<std::byte>> storage;
  storage.reserve(all.size());
  std::vector<ml::TensorToWrite> tensors;
  tensors.reserve(all.size());
  for (const auto& s : all) {
    ml::DType dt = stored_dtype(s.init, dtype);
    storage.push_back(encode(values(s, c, seed), dt));
    tensors.push_back({s.name, dt, s.shape, storage.back()});
  }
  auto meta = sd_checkpoint_metadata(c);
  for (const auto& [k, v] : extra_metadata) meta[k] = v;
  ml::write_safetensors(path, std::move(tensors), meta);
}

// --- tokenizer ---------------------------------------------------------------

namespace {

bool printable_byte(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// bytes_to_unicode in CLIP's order: the printable bytes as themselves, then
// the other 68 bytes as U+0100 onwards.
std::vector<std::string> byte_symbols() {
  std::vector<std::string> out;
  for (int b = 0; b < 256; ++b)
    if (printable_byte(b)) out.push_back(utf8(static_cast<char32_t>(b)));
  int n = 0;
  for (int b = 0; b < 256; ++b)
    if (!printable_byte(b)) out.push_back(utf8(0x100 + n++));
  return out;
}

// Text the merges are learnt from: the kind of words prompts use.
constexpr const char* kCorpus =
    "a photo of a cat sitting on a red chair in the garden with flowers and trees "
    "a portrait of a woman with long hair wearing a blue dress in the style of an oil painting "
    "the dog is running on the beach at sunset highly detailed digital art trending "
    "an astronaut riding a horse on the moon beautiful landscape mountains river forest "
    "there is a house near the lake and the sky is full of stars at night the city lights "
    "best quality masterpiece sharp focus cinematic lighting realistic photograph of the street "
    "this is the best thing that the people in the world have seen in their lives "
    "green yellow orange purple white black brown golden silver colors on the canvas "
    "the quick brown fox jumps over the lazy dog while the children are playing outside";

std::vector<std::string> corpus_words() {
  std::vector<std::string> words;
  std::string cur;
  for (const char* p = kCorpus;; ++p) {
    if (*p == ' ' || *p == 0) {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
      if (*p == 0) break;
    } else {
      cur += *p;
    }
  }
  return words;
}

}  // namespace

void write_test_tokenizer(const std::filesystem::path& dir, int vocab_size) {
  const auto bytes = byte_symbols();
  const int n_merges = vocab_size - 2 * 256 - 2;
  if (n_merges < 0)
    throw std::invalid_argument("write_test_tokenizer: a CLIP vocabulary needs at least 514 ids");

  std::vector<std::string> vocab(bytes);
  for (const auto& b : bytes) vocab.push_back(b + "</w>");
  std::set<std::string> known(vocab.begin(), vocab.end());
  std::vector<std::pair<std::string, std::string>> merges;
  auto add_merge = [&](const std::string& a, const std::string& b) {
    if (static_cast<int>(merges.size()) >= n_merges || known.count(a + b)) return false;
    merges.emplace_back(a, b);
    vocab.push_back(a + b);
    known.insert(a + b);
    return true;
  };

  // BPE training on the corpus: words as symbol lists, the last with "</w>";
  // the most frequent adjacent pair is merged first (ties: smaller pair).
  std::vector<std::vector<std::string>> words;
  for (const auto& w : corpus_words()) {
    std::vector<std::string> syms;
    for (char ch : w) syms.emplace_back(1, ch);
    syms.back() += "</w>";
    words.push_back(std::move(syms));
  }
  while (static_cast<int>(merges.size()) < n_merges) {
    std::map<std::pair<std::string, std::string>, int> counts;
    for (const auto& w : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) ++counts[{w[i], w[i + 1]}];
    if (counts.empty()) break;
    auto best = counts.begin();
    for (auto it = counts.begin(); it != counts.end(); ++it)
      if (it->second > best->second) best = it;
    auto [a, b] = best->first;
    if (!add_merge(a, b)) break;
    for (auto& w : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          next.push_back(a + b);
          ++i;
        } else {
          next.push_back(w[i]);
        }
      }
      w = std::move(next);
    }
  }
  // Then pairs of lowercase letters (word-final second, then inner), until full.
  for (const char* end : {"</w>", ""})
    for (char x = 'a'; x <= 'z'; ++x)
      for (char y = 'a'; y <= 'z'; ++y) add_merge(std::string(1, x), std::string(1, y) + end);

  vocab.push_back("<|startoftext|>");
  vocab.push_back("<|endoftext|>");
  if (static_cast<int>(vocab.size()) != vocab_size)
    throw std::invalid_argument("write_test_tokenizer: cannot fill " + std::to_string(vocab_size) +
                                " ids (at most " + std::to_string(vocab.size()) + ")");

  std::filesystem::create_directories(dir);
  json v = json::object();
  for (size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  std::ofstream(dir / "vocab.json", std::ios::binary) << v.dump();
  std::ofstream m(dir / "merges.txt", std::ios::binary);
  m << "#version: 0.2\n";
  for (const auto& [a, b] : merges) m << a << ' ' << b << '\n';
  if (!m) throw std::runtime_error("write_test_tokenizer: cannot write " + dir.string());
}

}  // namespace atelier::test::sd
