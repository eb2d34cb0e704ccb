// Kohya LoRA module names -> LDM tensors, derived from the model's configs
// (see lora_key_map.h). The walk follows the order UNetModel builds its
// blocks in, so indices and widths agree with what the loader took.
#include "ml/sd/lora_key_map.h"

#include <algorithm>
#include <stdexcept>

#include "ml/sd/sd_model.h"

namespace atelier::ml::sd {

namespace {

std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

std::string str(int64_t v) {
  return std::to_string(v);
}

class Builder {
 public:
  explicit Builder(LoraKeyMap& map) : map_(map) {}

  void add(const std::string& key, LoraKeyTarget target) {
    auto [it, inserted] = map_.emplace(key, target);
    if (!inserted && it->second.tensor != target.tensor)
      throw std::logic_error("LoRA key " + key + " would name both " + it->second.tensor + " and " +
                             target.tensor);
  }

  // A UNet module under both its diffusers and its LDM path.
  void unet(const std::string& diffusers, const std::string& ldm, LoraTargetKind kind) {
    const LoraKeyTarget t{"model.diffusion_model." + ldm + ".weight", kind, 0};
    add("lora_unet_" + underscored(diffusers), t);
    add("lora_unet_" + underscored(ldm), t);
  }

  // diffusers ResnetBlock2D <-> openaimodel ResBlock.
  void resnet(const std::string& d, const std::string& l, bool has_shortcut) {
    unet(d + "conv1", l + "in_layers.2", LoraTargetKind::conv);
    unet(d + "time_emb_proj", l + "emb_layers.1", LoraTargetKind::linear);
    unet(d + "conv2", l + "out_layers.3", LoraTargetKind::conv);
    if (has_shortcut) unet(d + "conv_shortcut", l + "skip_connection", LoraTargetKind::conv);
  }

  // Transformer2DModel <-> SpatialTransformer: the same names inside.
  void transformer(const std::string& d, const std::string& l, int64_t depth, bool linear_proj) {
    const LoraTargetKind proj = linear_proj ? LoraTargetKind::linear : LoraTargetKind::conv;
    unet(d + "proj_in", l + "proj_in", proj);
    unet(d + "proj_out", l + "proj_out", proj);
    for (int64_t k = 0; k < depth; ++k) {
      const std::string b = "transformer_blocks." + str(k) + ".";
      for (const char* attn : {"attn1.", "attn2."})
        for (const char* m : {"to_q", "to_k", "to_v", "to_out.0"})
          unet(d + b + attn + m, l + b + attn + m, LoraTargetKind::linear);
      unet(d + b + "ff.net.0.proj", l + b + "ff.net.0.proj", LoraTargetKind::linear);
      unet(d + b + "ff.net.2", l + b + "ff.net.2", LoraTargetKind::linear);
    }
  }

  void text_encoder(const std::string& kohya_prefix, const std::string& ldm_prefix,
                    const ClipTextConfig& c) {
    for (int64_t i = 0; i < c.layers; ++i) {
      const std::string k = kohya_prefix + "text_model_encoder_layers_" + str(i) + "_";
      if (c.layout == ClipLayout::kHf) {
        const std::string l = ldm_prefix + "encoder.layers." + str(i) + ".";
        for (const char* m : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                              "self_attn.out_proj", "mlp.fc1", "mlp.fc2"})
          add(k + underscored(m), {l + m + ".weight", LoraTargetKind::linear, 0});
      } else {
        const std::string l = ldm_prefix + "transformer.resblocks." + str(i) + ".";
        const char* qkv[] = {"self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj"};
        for (int part = 0; part < 3; ++part)
          add(k + qkv[part], {l + "attn.in_proj_weight", LoraTargetKind::qkv_part, part});
        add(k + "self_attn_out_proj", {l + "attn.out_proj.weight", LoraTargetKind::linear, 0});
        add(k + "mlp_fc1", {l + "mlp.c_fc.weight", LoraTargetKind::linear, 0});
        add(k + "mlp_fc2", {l + "mlp.c_proj.weight", LoraTargetKind::linear, 0});
      }
    }
  }

 private:
  LoraKeyMap& map_;
};

void add_unet(Builder& b, const UNetConfig& c) {
  const int64_t nrb = c.num_res_blocks, levels = c.levels(), mc = c.model_channels;
  b.unet("conv_in", "input_blocks.0.0", LoraTargetKind::conv);
  b.unet("time_embedding.linear_1", "time_embed.0", LoraTargetKind::linear);
  b.unet("time_embedding.linear_2", "time_embed.2", LoraTargetKind::linear);
  if (c.adm_in_channels > 0) {
    b.unet("add_embedding.linear_1", "label_emb.0.0", LoraTargetKind::linear);
    b.unet("add_embedding.linear_2", "label_emb.0.2", LoraTargetKind::linear);
  }
  b.unet("conv_out", "out.2", LoraTargetKind::conv);

  // Down: diffusers down_blocks.L is level L; openaimodel numbers its blocks
  // on from input_blocks.1, nrb per level and then the level's Downsample.
  std::vector<int64_t> skip_widths{mc};
  int64_t ch = mc;
  for (int64_t level = 0; level < levels; ++level) {
    const int64_t width = c.channel_mult[level] * mc;
    const std::string d = "down_blocks." + str(level) + ".";
    for (int64_t r = 0; r < nrb; ++r) {
      const std::string l = "input_blocks." + str(1 + level * (nrb + 1) + r) + ".";
      b.resnet(d + "resnets." + str(r) + ".", l + "0.", ch != width);
      ch = width;
      if (c.transformer_depth[level] > 0)
        b.transformer(d + "attentions." + str(r) + ".", l + "1.", c.transformer_depth[level],
                      c.linear_proj);
      skip_widths.push_back(ch);
    }
    if (level + 1 < levels) {
      b.unet(d + "downsamplers.0.conv",
             "input_blocks." + str(1 + level * (nrb + 1) + nrb) + ".0.op", LoraTargetKind::conv);
      skip_widths.push_back(ch);
    }
  }

  b.resnet("mid_block.resnets.0.", "middle_block.0.", false);
  if (c.middle_transformer_depth > 0)
    b.transformer("mid_block.attentions.0.", "middle_block.1.", c.middle_transformer_depth,
                  c.linear_proj);
  b.resnet("mid_block.resnets.1.",
           "middle_block." + str(c.middle_transformer_depth > 0 ? 2 : 1) + ".", false);

  // Up: diffusers up_blocks.i is level levels-1-i; each of its nrb + 1
  // ResBlocks takes the running features and a skip, and all but the top
  // level end in an Upsample placed after the block's attention.
  for (int64_t i = 0; i < levels; ++i) {
    const int64_t level = levels - 1 - i;
    const int64_t width = c.channel_mult[level] * mc;
    const bool attends = c.transformer_depth[level] > 0;
    const std::string d = "up_blocks." + str(i) + ".";
    for (int64_t r = 0; r <= nrb; ++r) {
      const std::string l = "output_blocks." + str(i * (nrb + 1) + r) + ".";
      const int64_t in = ch + skip_widths.back();
      skip_widths.pop_back();
      b.resnet(d + "resnets." + str(r) + ".", l + "0.", in != width);
      ch = width;
      if (attends)
        b.transformer(d + "attentions." + str(r) + ".", l + "1.", c.transformer_depth[level],
                      c.linear_proj);
      if (level > 0 && r == nrb)
        b.unet(d + "upsamplers.0.conv", l + (attends ? "2" : "1") + ".conv", LoraTargetKind::conv);
    }
  }
}

}  // namespace

LoraKeyMap lora_key_map(SdFamily family, const UNetConfig& unet,
                        const std::optional<ClipTextConfig>& te_l,
                        const std::optional<ClipTextConfig>& te_g) {
  if (unet.transformer_depth.size() != unet.channel_mult.size())
    throw std::invalid_argument(
        "lora_key_map: channel_mult and transformer_depth differ in length");
  auto need = [&](const std::optional<ClipTextConfig>& te, const char* which) {
    if (!te)
      throw std::invalid_argument("lora_key_map: " + family_name(family) + " needs the " + which +
                                  " text encoder's config");
    return *te;
  };
  LoraKeyMap map;
  Builder b(map);
  add_unet(b, unet);
  switch (family) {
    case SdFamily::sd1:
      b.text_encoder("lora_te_", "cond_stage_model.transformer.text_model.", need(te_l, "CLIP-L"));
      break;
    case SdFamily::sd2:
      b.text_encoder("lora_te_", "cond_stage_model.model.", need(te_g, "OpenCLIP"));
      break;
    case SdFamily::sdxl:
      b.text_encoder("lora_te1_", "conditioner.embedders.0.transformer.text_model.",
                     need(te_l, "CLIP-L"));
      b.text_encoder("lora_te2_", "conditioner.embedders.1.model.", need(te_g, "OpenCLIP"));
      break;
  }
  return map;
}

LoraKeyMap lora_key_map(const SdModel& model) {
  if (!model.unet) throw std::invalid_argument("lora_key_map: the model has no UNet");
  std::optional<ClipTextConfig> l, g;
  if (model.te_l) l = model.te_l->config();
  if (model.te_g) g = model.te_g->config();
  return lora_key_map(model.family, model.unet->config(), l, g);
}

}  // namespace atelier::ml::sd
