// Kohya-format LoRAs (and LoCon) applied to an SD 1.x, 2.x or SDXL model
// built by sd_model.h. A file holds per module (names: lora_key_map.h)
//   NAME.lora_down.weight  (r, in) or, for a convolution, (r, in, kh, kw)
//   NAME.lora_up.weight    (out, r) or (out, r, 1, 1)
//   NAME.alpha             optional scalar: scale alpha / r (none: scale 1)
// and applying it with multiplier m adds m * scale * (up @ down), reshaped
// to the weight's shape, to the module's weight (for a fused OpenCLIP q/k/v,
// to its third of in_proj_weight).
//
// Invariants:
//  - Loading is safetensors only (a pickle is refused unread); a tensor that
//    is not one of the three kinds, or a module missing its down or up, is a
//    WeightError naming the file and the tensor.
//  - Applying checks every LoRA against the model before touching anything:
//    module names that map to no tensor are listed by name, and a module
//    whose shapes do not fit names the file, the module, the LoRA's shapes
//    and the weight's; nothing is ever silently dropped.
//  - AppliedSdLoras edits SdModel::params in place (the components read the
//    same storage) and keeps a copy of each touched tensor, written back on
//    destruction: afterwards every tensor is bit-identical to before.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ml/sd/lora_key_map.h"
#include "ml/sd/sd_model.h"

namespace atelier::ml::sd {

struct SdLoraModule {
  torch::Tensor down, up;  // float32
  std::optional<double> alpha;
  int64_t rank() const { return down.size(0); }
  double scale() const { return alpha ? *alpha / double(rank()) : 1.0; }
};

struct SdLora {
  std::string source;                           // the file, for messages
  std::map<std::string, SdLoraModule> modules;  // by kohya module name
  std::map<std::string, std::string> metadata;  // ss_output_name, ss_base_model_version, ...
  std::string addnet_hash;                      // lora_hash.h short form (12 hex digits)
};

// Throws WeightError naming the file (and the tensor, when one is at fault).
SdLora load_sd_lora(const std::filesystem::path& path);

// One module's change to its target, shaped like target_shape (the whole
// weight, or one third of a fused q/k/v): multiplier * scale * up @ down.
// Throws WeightError naming lora.source, the module, the LoRA's shapes and
// the target's (`target` is its name) when they do not fit.
torch::Tensor sd_lora_delta(const SdLora& lora, const std::string& module, double multiplier,
                            const std::string& target, const std::vector<int64_t>& target_shape);

struct SdLoraUse {
  const SdLora* lora = nullptr;
  double multiplier = 1.0;
};

// Throws WeightError when a LoRA does not fit the model (see the header
// comment); nothing is modified.
void check_sd_loras(const SdModel& model, const std::vector<SdLoraUse>& loras);

class AppliedSdLoras {
 public:
  // Checks every LoRA first (check_sd_loras), then merges them all.
  AppliedSdLoras(SdModel& model, const std::vector<SdLoraUse>& loras);
  ~AppliedSdLoras();
  AppliedSdLoras(const AppliedSdLoras&) = delete;
  AppliedSdLoras& operator=(const AppliedSdLoras&) = delete;

  // Distinct model tensors changed (a fused q/k/v counts once).
  size_t tensors() const { return saved_.size(); }

 private:
  void restore();
  SdModel& model_;
  std::map<std::string, torch::Tensor> saved_;  // LDM name -> original copy
};

}  // namespace atelier::ml::sd
