// Text encoder forward pass; see text_encoder.h.
#include "ml/text_encoder.h"

#include "ml/tokenizer.h"

namespace atelier::ml {

TextEncoderImpl::TextEncoderImpl(const ModelConfig& c, int vocab_size) {
  token_embedding =
      register_module("token_embedding", torch::nn::Embedding(vocab_size, c.text_dim));
  position_embedding =
      register_parameter("position_embedding", torch::randn({c.max_tokens, c.text_dim}) * 0.02);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.text_layers; ++i)
    layers->push_back(TransformerBlock(c.text_dim, c.text_heads, 0, 2));
  final_norm = register_module("final_norm",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.text_dim})));
}

TextEncoding TextEncoderImpl::forward(const torch::Tensor& tokens) {
  const auto L = tokens.size(1);
  auto mask = tokens.ne(Tokenizer::kPad);
  auto x = token_embedding(tokens) + position_embedding.slice(0, 0, L).unsqueeze(0);
  for (auto& layer : *layers) x = layer->as<TransformerBlock>()->forward(x, mask, {}, {});
  x = final_norm(x);
  auto m = mask.unsqueeze(-1).to(x.dtype());
  auto pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0);
  return {x, mask, pooled};
}

}  // namespace atelier::ml
