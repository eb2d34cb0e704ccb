// From a prompt and a negative prompt to what the UNet is conditioned on, as
// AUTOMATIC1111 computes it: emphasis syntax and 75-token chunks
// (prompt_weights.h), each chunk encoded on its own and weighted, the chunks
// joined along the tokens; the shorter of the two prompts is padded with empty
// chunks so that both contexts have the same length (the guidance batch needs
// it). SDXL weights each encoder's part of the context separately and takes
// its pooled vector from the first chunk, as A1111 does.
#pragma once
#include <torch/torch.h>

#include <string_view>

#include "ml/sd/clip_tokenizer.h"
#include "ml/sd/sd_model.h"
#include "ml/sd/sdxl_conditioning.h"

namespace atelier::ml::sd {

struct Conditioning {
  torch::Tensor context;  // (1, 77 * chunks, context_dim)
  torch::Tensor y;        // SDXL: (1, adm_in_channels); undefined otherwise
};

struct PromptPair {
  Conditioning positive, negative;
  int tokens = 0;  // A1111's count for the positive prompt
};

// clip_skip 0 takes the family's default (text_conditioning.h). Throws
// std::invalid_argument for a clip_skip the encoder cannot give and
// PromptSyntaxError for a bad emphasis weight.
PromptPair encode_prompts(const SdModel& m, const ClipTokenizer& tok, std::string_view prompt,
                          std::string_view negative, int clip_skip, const SdxlSizes& sizes);

}  // namespace atelier::ml::sd
