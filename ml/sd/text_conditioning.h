// The cross-attention context (and SDXL's pooled vector) each Stable
// Diffusion family builds from its text encoders' hidden states.
//
// clip_skip counts layers from the end as A1111 and ComfyUI do: 1 is the last
// layer's output, 2 the penultimate one. Each family's default is what its
// reference code feeds the UNet: SD1 the last layer, SD2 and SDXL the
// penultimate. SD1 and SD2 apply the encoder's final layer norm to the chosen
// state; SDXL does not (its conditioner takes the raw hidden state).
#pragma once
#include <torch/torch.h>

#include "ml/sd/clip_text_model.h"

namespace atelier::ml::sd {

inline constexpr int kSd1DefaultClipSkip = 1;
inline constexpr int kSd2DefaultClipSkip = 2;
inline constexpr int kSdxlDefaultClipSkip = 2;

// final_ln(hidden[layers + 1 - clip_skip]), running only the layers needed:
// SD1 (CLIP-L, HF layout) and SD2 (OpenCLIP-H) context, (B, 77, width).
// Throws std::invalid_argument when clip_skip is not in 1..layers.
torch::Tensor clip_context(const ClipTextModel& te, const torch::Tensor& tokens, int clip_skip);

struct SdxlText {
  torch::Tensor crossattn;  // (B, 77, width_l + width_g)
  torch::Tensor pooled;     // (B, projection_dim of g)
};

// SDXL: cat(l.hidden[layers_l + 1 - clip_skip], g.hidden[layers_g + 1 -
// clip_skip]) along the channels, no final LN, and g's pooled output, from
// one full pass of g. tokens_l is padded with EOS, tokens_g with 0.
SdxlText sdxl_text(const ClipTextModel& te_l, const ClipTextModel& te_g,
                   const torch::Tensor& tokens_l, const torch::Tensor& tokens_g,
                   int clip_skip = kSdxlDefaultClipSkip);

}  // namespace atelier::ml::sd
