// The small text encoder: token and position embeddings, pre-norm transformer
// layers over the prompt's words, a final LayerNorm. Padding positions are
// masked out of attention and of the pooled vector.
#pragma once
#include <torch/torch.h>

#include "ml/attention.h"
#include "ml/model_config.h"

namespace atelier::ml {

struct TextEncoding {
  torch::Tensor states;  // (B, L, text_dim)
  torch::Tensor mask;    // (B, L) bool, true for real tokens
  torch::Tensor pooled;  // (B, text_dim): mean of the real tokens' states
};

struct TextEncoderImpl : torch::nn::Module {
  TextEncoderImpl(const ModelConfig& c, int vocab_size);
  TextEncoding forward(const torch::Tensor& tokens);  // (B, L) int64
  torch::nn::Embedding token_embedding{nullptr};
  torch::Tensor position_embedding;
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
};
TORCH_MODULE(TextEncoder);

}  // namespace atelier::ml
