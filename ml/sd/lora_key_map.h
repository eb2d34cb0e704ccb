// Which tensor of a single-file SD checkpoint (LDM layout) each module of a
// kohya-format LoRA adapts. Kohya names a module by its diffusers path with
// "_" for ".", behind a prefix per model part:
//   lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q
//   lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q  (LDM path: some trainers)
//   lora_te_text_model_encoder_layers_0_self_attn_q_proj        (SD 1.x/2.x text encoder)
//   lora_te1_... / lora_te2_...                                  (SDXL's CLIP-L / OpenCLIP bigG)
// Text encoders are always named in the HF CLIP layout, also SD 2.x's and
// SDXL's OpenCLIP towers, whose q/k/v live in one fused in_proj_weight: a
// q, k or v module adapts one third of its rows.
//
// The table covers every Linear and Conv2d a LoRA or LoCon trains: in each
// SpatialTransformer proj_in/out and, per transformer block, attn1/attn2
// to_q/k/v/out.0, ff.net.0.proj, ff.net.2; in each ResBlock conv1, conv2,
// time_emb_proj and conv_shortcut (where the block has one); the down and
// up samplers' convolutions; conv_in, conv_out, time_embedding and SDXL's
// add_embedding; per text-encoder layer q/k/v/out_proj, fc1, fc2. Norms and
// embeddings are not LoRA targets.
//
// Invariants: the table is derived from the configs (levels, res blocks per
// level, which levels attend and how deep, whether the middle block attends,
// whether a ResBlock changes width), never from SD 1.5's fixed numbers, so a
// tiny checkpoint maps as a full-size one does; every target names a weight
// the loader takes for that config (2-d for linear and qkv parts, 4-d for
// conv); each diffusers-named UNet module has an LDM-named twin with the
// same target, and no two names collide.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "ml/sd/clip_text_model.h"
#include "ml/sd/sd_family.h"
#include "ml/sd/unet_model.h"

namespace atelier::ml::sd {

struct SdModel;

enum class LoraTargetKind {
  linear,    // weight (out, in)
  conv,      // weight (out, in, kh, kw)
  qkv_part,  // rows [part * d, (part + 1) * d) of a fused (3d, d) in_proj_weight
};

struct LoraKeyTarget {
  std::string tensor;  // LDM weight name, "model.diffusion_model.input_blocks.1.1.proj_in.weight"
  LoraTargetKind kind = LoraTargetKind::linear;
  int part = 0;  // qkv_part: 0 q, 1 k, 2 v
};

// Kohya module name (no ".lora_down.weight" suffix) -> target.
using LoraKeyMap = std::map<std::string, LoraKeyTarget>;

// te_l: SD 1.x's encoder or SDXL's first; te_g: SD 2.x's or SDXL's second
// (the family says which must be set). Throws std::invalid_argument when
// an encoder the family has is missing.
LoraKeyMap lora_key_map(SdFamily family, const UNetConfig& unet,
                        const std::optional<ClipTextConfig>& te_l,
                        const std::optional<ClipTextConfig>& te_g);
// The same for a built model.
LoraKeyMap lora_key_map(const SdModel& model);

}  // namespace atelier::ml::sd
