// The CLIP text transformer Stable Diffusion conditions on, in both key
// layouts single-file checkpoints use:
//   - HF transformers (SD 1.x "cond_stage_model.transformer.text_model.",
//     SDXL's first encoder "conditioner.embedders.0.transformer.text_model."):
//     separate q/k/v projections, quick_gelu, final_layer_norm, no projection;
//   - OpenCLIP (SD 2.x "cond_stage_model.model.", SDXL's second encoder
//     "conditioner.embedders.1.model."): fused in_proj (q, k, v stacked in
//     that order), exact gelu, ln_final and a [width, proj] text_projection.
// Both are pre-LN transformers with a causal mask, so one forward pass serves
// both; only the layer wiring read at construction differs.
//
// Invariants: the constructor takes every parameter under the prefix that a
// text encoder uses and skips by name the rest (position_ids, logit_scale,
// an OpenCLIP vision tower "visual.*" if a file carries one), so nothing of
// the encoder is left in Weights::unused(); every shape is checked against
// the config at construction, naming the tensor; forward only reads members.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ml/sd/layers.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd {

enum class ClipLayout { kHf, kOpenClip };
enum class ClipActivation { kQuickGelu, kGelu };

struct ClipTextConfig {
  ClipLayout layout = ClipLayout::kHf;
  int64_t vocab = 49408;
  int64_t width = 768;
  int64_t layers = 12;
  int64_t heads = 12;  // shapes cannot tell; infer() takes it from the caller
  int64_t mlp_width = 3072;
  int64_t max_positions = 77;
  ClipActivation activation = ClipActivation::kQuickGelu;
  int64_t projection_dim = 0;  // 0: no text_projection (HF layout)
};

// All hidden states of one pass: hidden[0] is the embeddings, hidden[i] the
// output of layer i (no final layer norm), for i up to the layers that ran.
// pooled is defined only when every layer ran.
struct ClipTextStates {
  std::vector<torch::Tensor> hidden;  // each (B, 77, width)
  torch::Tensor pooled;               // (B, width) HF, (B, projection_dim) OpenCLIP
};

class ClipTextModel {
 public:
  // prefix ends with "." and is the one the layout's names hang from (HF:
  // "...transformer.text_model.", OpenCLIP: "...model.").
  ClipTextModel(Weights& w, const std::string& prefix, ClipTextConfig c);

  // Sizes from names and shapes; the layout from which names exist under the
  // prefix; heads = 0 means width / 64 (CLIP-L, OpenCLIP H and bigG).
  static ClipTextConfig infer(const Weights& w, const std::string& prefix, int64_t heads = 0);

  // tokens (B, max_positions) int64. layers_to_run < 0 runs every layer;
  // fewer stops early (clip skip needs no later layer), leaving pooled
  // undefined. SDXL takes its penultimate states and pooled from one full pass.
  ClipTextStates forward(const torch::Tensor& tokens, int layers_to_run = -1) const;

  // final_layer_norm (HF) or ln_final (OpenCLIP).
  torch::Tensor final_ln(const torch::Tensor& x) const { return final_ln_(x); }
  // The pooled vector from the last layer's output: final LN at the first
  // argmax token (the EOS id is the highest id) and, OpenCLIP, the projection.
  torch::Tensor pool(const torch::Tensor& last_hidden, const torch::Tensor& tokens) const;

  const ClipTextConfig& config() const { return config_; }

 private:
  struct Layer {
    LayerNorm ln1, ln2;
    Linear q, k, v;  // HF layout
    Linear qkv;      // OpenCLIP layout (in_proj)
    Linear out, fc1, fc2;
  };
  torch::Tensor run_layer(const Layer& l, const torch::Tensor& x, const torch::Tensor& mask) const;

  ClipTextConfig config_;
  torch::Tensor token_embedding_;     // (vocab, width)
  torch::Tensor position_embedding_;  // (max_positions, width)
  std::vector<Layer> layers_;
  LayerNorm final_ln_;
  torch::Tensor text_projection_;  // (width, projection_dim), undefined when none
};

}  // namespace atelier::ml::sd
