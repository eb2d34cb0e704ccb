// Random kohya-format LoRA (and LoCon) files for the tiny (or full-size) SD
// checkpoints of tiny_checkpoint.h, made at test time.
//
// Invariants:
//  - kohya_lora_modules lists module names the way kohya's trainer writes
//    them, from the diffusers module paths (or, with ldm_unet_names, the LDM
//    paths some trainers use), with shapes worked out from the config here,
//    independently of the loader's own key table, so a test that applies
//    such a file checks that table.
//  - write_kohya_lora's bytes depend only on (modules, seed, dtype,
//    metadata): each tensor draws from its own std::mt19937_64 seeded from
//    the seed and the tensor's name, with a Box-Muller transform.
//  - Torch-free: only the safetensors writer.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ml/safetensors.h"
#include "tiny_checkpoint.h"

namespace atelier::test::sd {

struct LoraModuleSpec {
  std::string name;           // "lora_unet_down_blocks_0_attentions_0_proj_in"
  std::vector<int64_t> down;  // (r, in) or (r, in, kh, kw)
  std::vector<int64_t> up;    // (out, r) or (out, r, 1, 1)
  std::optional<float> alpha;
};

struct KohyaLoraOptions {
  int rank = 4;
  std::optional<float> alpha = 2.0f;  // none: the file holds no .alpha (scale 1)
  bool unet_attention = true;         // every SpatialTransformer module
  bool text_encoders = true;          // q/k/v/out_proj, fc1, fc2 of every layer
  bool convs = false;                 // LoCon: ResBlocks' conv1/conv2/time_emb_proj/
                                      // conv_shortcut and the samplers' convs
  bool ldm_unet_names = false;        // lora_unet_input_blocks_1_1_... naming
};

std::vector<LoraModuleSpec> kohya_lora_modules(const TinySdConfig& c, const KohyaLoraOptions& o);

// Writes NAME.lora_down.weight, NAME.lora_up.weight (as dtype: F32, F16 or
// BF16) and NAME.alpha (F32 scalar) per module. down is normal / sqrt(fan_in),
// up normal * 0.1 (kohya starts up at zero; a test needs a visible change).
void write_kohya_lora(const std::filesystem::path& path, const std::vector<LoraModuleSpec>& modules,
                      uint64_t seed, ml::DType dtype = ml::DType::F32,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace atelier::test::sd
