// LoRA adapters for the UNet denoiser, in the layout kohya-ss's sd-scripts write
// and the ecosystem reads: for a module at UNet path `a.b.c`,
//   lora_unet_a_b_c.lora_down.weight  (rank, in)        or (rank, in, kh, kw) for a conv
//   lora_unet_a_b_c.lora_up.weight    (out, rank)       or (out, rank, 1, 1)
//   lora_unet_a_b_c.alpha             scalar
// and the module's weight becomes W + multiplier * (alpha / rank) * up @ down.
//
// Targets: every attention projection (to_q, to_k, to_v, to_out) of the UNet;
// with `convs`, also the 3x3 convolutions of its residual blocks.
//
// Invariant of AppliedLoras: the model's own weight tensors are never written.
// Each adapted module's `weight` member (the tensor its forward() reads) is
// pointed at a new merged tensor and pointed back at the original on
// destruction, so a cached base model gives bit-identical pixels afterwards.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ml/diffusion_model.h"

namespace atelier::ml {

// "down.1.attn.block.cross_attn.to_q" -> "lora_unet_down_1_attn_block_cross_attn_to_q"
std::string kohya_key(const std::string& unet_path);

struct LoraTarget {
  std::string key;   // kohya key
  std::string path;  // module path inside the UNet
  std::shared_ptr<torch::nn::Module> module;
  torch::Tensor* weight;  // the module's weight member (what forward() reads)
  bool conv = false;
  std::vector<int64_t> weight_shape;  // (out, in) or (out, in, kh, kw)
};

// In module order. Throws std::invalid_argument if the model has no targets.
std::vector<LoraTarget> lora_targets(DiffusionModel& model, bool convs);

struct LoraModule {
  torch::Tensor down, up;  // float32, shapes as in the header comment
  double alpha = 1;
  int64_t rank() const { return down.size(0); }
  // multiplier * (alpha / rank) * up @ down, shaped like the adapted weight.
  torch::Tensor delta(double multiplier) const;
};

struct Lora {
  std::map<std::string, LoraModule> modules;  // by kohya key
  std::map<std::string, std::string> metadata;
};

// Strict reader: every tensor must be one of the three names per module, down
// and up of matching rank, alpha a positive finite scalar. Throws FormatError
// naming the file and the key.
Lora load_lora(const std::filesystem::path& path);
// Writes float32 tensors and the metadata, atomically.
void save_lora(const std::filesystem::path& path, const Lora& lora);
// Throws std::invalid_argument (naming `source` and the key) if a module is not
// a target of this model or its shapes do not fit the target's weight.
void check_lora_fits(const Lora& lora, const std::vector<LoraTarget>& targets,
                     const std::string& source);

struct LoraUse {
  const Lora* lora;
  double multiplier;
  std::string source;  // for error messages
};

class AppliedLoras {
 public:
  // Validates every LoRA against the model first, so nothing is applied when one
  // does not fit.
  AppliedLoras(DiffusionModel& model, const std::vector<LoraUse>& loras);
  ~AppliedLoras();
  AppliedLoras(const AppliedLoras&) = delete;
  AppliedLoras& operator=(const AppliedLoras&) = delete;
  size_t modules() const { return saved_.size(); }

 private:
  DiffusionModel model_;
  std::vector<std::pair<LoraTarget, torch::Tensor>> saved_;  // target, original weight
};

// The trainable adapter set used by the LoRA trainer. attach() points every
// target's weight at W + (alpha / rank) * up @ down with autograd through down
// and up; detach() restores the originals. Initialisation as in sd-scripts: down
// Kaiming-uniform, up zero, so training starts at exactly the base model.
class LoraNetwork {
 public:
  LoraNetwork(DiffusionModel& model, int rank, double alpha, bool convs, uint64_t seed);
  ~LoraNetwork();
  void attach();
  void detach();
  std::vector<torch::Tensor> parameters() const;  // down, up per target
  std::vector<std::pair<std::string, torch::Tensor>> named()
      const;             // "<key>.lora_down.weight", ...
  Lora to_lora() const;  // a detached copy
  int rank() const { return rank_; }
  double alpha() const { return alpha_; }

 private:
  DiffusionModel model_;
  int rank_;
  double alpha_;
  std::vector<LoraTarget> targets_;
  std::vector<torch::Tensor> down_, up_, original_;
  bool attached_ = false;
};

}  // namespace atelier::ml
