// The CLIP text transformer in its HF and OpenCLIP layouts (see clip_text_model.h).
#include "ml/sd/clip_text_model.h"

#include <limits>

namespace atelier::ml::sd {

namespace {

// Names of one layout, relative to the prefix.
struct Names {
  std::string token_embedding, position_embedding, layers, final_ln;
  std::string ln1, ln2, out, fc1, fc2;
};

const Names& names_of(ClipLayout layout) {
  static const Names hf{"embeddings.token_embedding.weight",
                        "embeddings.position_embedding.weight",
                        "encoder.layers.",
                        "final_layer_norm.",
                        "layer_norm1.",
                        "layer_norm2.",
                        "self_attn.out_proj.",
                        "mlp.fc1.",
                        "mlp.fc2."};
  static const Names open_clip{"token_embedding.weight",
                               "positional_embedding",
                               "transformer.resblocks.",
                               "ln_final.",
                               "ln_1.",
                               "ln_2.",
                               "attn.out_proj.",
                               "mlp.c_fc.",
                               "mlp.c_proj."};
  return layout == ClipLayout::kHf ? hf : open_clip;
}

// A linear layer whose shape the config fixes, so a tensor that contradicts
// the others is refused by name.
Linear take_linear(Weights& w, const std::string& prefix, int64_t out, int64_t in) {
  return Linear{w.take(prefix + "weight", {out, in}), w.take(prefix + "bias", {out})};
}

LayerNorm take_layer_norm(Weights& w, const std::string& prefix, int64_t width) {
  LayerNorm l;
  l.weight = w.take(prefix + "weight", {width});
  l.bias = w.take(prefix + "bias", {width});
  return l;
}

}  // namespace

ClipTextConfig ClipTextModel::infer(const Weights& w, const std::string& prefix, int64_t heads) {
  ClipTextConfig c;
  if (w.has(prefix + names_of(ClipLayout::kHf).token_embedding)) {
    c.layout = ClipLayout::kHf;
    c.activation = ClipActivation::kQuickGelu;
  } else if (w.has(prefix + names_of(ClipLayout::kOpenClip).token_embedding)) {
    c.layout = ClipLayout::kOpenClip;
    c.activation = ClipActivation::kGelu;
  } else {
    throw WeightError(w.source() + ": no CLIP text encoder under " + prefix + " (neither " +
                      prefix + names_of(ClipLayout::kHf).token_embedding + " nor " + prefix +
                      names_of(ClipLayout::kOpenClip).token_embedding + ")");
  }
  const Names& n = names_of(c.layout);
  const std::vector<int64_t> tok = w.shape(prefix + n.token_embedding);
  if (tok.size() != 2)
    throw WeightError(w.source() + ": " + prefix + n.token_embedding +
                      ": expected a 2-d embedding table, found " + shape_text(tok));
  c.vocab = tok[0];
  c.width = tok[1];
  c.max_positions = w.shape(prefix + n.position_embedding).at(0);
  c.layers = w.count_indexed(prefix + n.layers);
  if (c.layers == 0) throw WeightError(w.source() + ": no layers under " + prefix + n.layers);
  c.mlp_width = w.shape(prefix + n.layers + "0." + n.fc1 + "weight").at(0);
  c.heads = heads > 0 ? heads : c.width / 64;
  c.projection_dim = 0;
  if (c.layout == ClipLayout::kOpenClip && w.has(prefix + "text_projection")) {
    const std::vector<int64_t> proj = w.shape(prefix + "text_projection");
    if (proj.size() != 2)
      throw WeightError(w.source() + ": " + prefix +
                        "text_projection: expected a 2-d matrix, found " + shape_text(proj));
    c.projection_dim = proj[1];
  }
  return c;
}

ClipTextModel::ClipTextModel(Weights& w, const std::string& prefix, ClipTextConfig c) : config_(c) {
  if (c.heads <= 0 || c.width % c.heads != 0)
    throw WeightError(w.source() + ": " + prefix + ": width " + std::to_string(c.width) +
                      " does not split into " + std::to_string(c.heads) + " heads");
  const Names& n = names_of(c.layout);
  const int64_t d = c.width;
  token_embedding_ = w.take(prefix + n.token_embedding, {c.vocab, d});
  position_embedding_ = w.take(prefix + n.position_embedding, {c.max_positions, d});
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string p = prefix + n.layers + std::to_string(i) + ".";
    Layer l;
    l.ln1 = take_layer_norm(w, p + n.ln1, d);
    if (c.layout == ClipLayout::kHf) {
      l.q = take_linear(w, p + "self_attn.q_proj.", d, d);
      l.k = take_linear(w, p + "self_attn.k_proj.", d, d);
      l.v = take_linear(w, p + "self_attn.v_proj.", d, d);
    } else {
      l.qkv = Linear{w.take(p + "attn.in_proj_weight", {3 * d, d}),
                     w.take(p + "attn.in_proj_bias", {3 * d})};
    }
    l.out = take_linear(w, p + n.out, d, d);
    l.ln2 = take_layer_norm(w, p + n.ln2, d);
    l.fc1 = take_linear(w, p + n.fc1, c.mlp_width, d);
    l.fc2 = take_linear(w, p + n.fc2, d, c.mlp_width);
    layers_.push_back(std::move(l));
  }
  final_ln_ = take_layer_norm(w, prefix + n.final_ln, d);
  if (c.projection_dim > 0)
    text_projection_ = w.take(prefix + "text_projection", {d, c.projection_dim});

  // Not used for text conditioning: recomputed (position_ids, the causal
  // mask), contrastive-training only (logit_scale), or the image tower.
  if (c.layout == ClipLayout::kHf) {
    w.skip(prefix + "embeddings.position_ids");
  } else {
    w.skip(prefix + "logit_scale");
    w.skip(prefix + "attn_mask");
    for (const std::string& name : w.names_under(prefix + "visual.")) w.skip(name);
  }
}

torch::Tensor ClipTextModel::run_layer(const Layer& l, const torch::Tensor& x,
                                       const torch::Tensor& mask) const {
  torch::Tensor h = l.ln1(x);
  torch::Tensor q, k, v;
  if (l.qkv.weight.defined()) {
    std::vector<torch::Tensor> qkv = l.qkv(h).chunk(3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = l.q(h), k = l.k(h), v = l.v(h);
  }
  torch::Tensor y = x + l.out(attention(q, k, v, config_.heads, mask));
  h = l.fc1(l.ln2(y));
  h = config_.activation == ClipActivation::kQuickGelu ? h * torch::sigmoid(1.702 * h)
                                                       : torch::gelu(h);
  return y + l.fc2(h);
}

ClipTextStates ClipTextModel::forward(const torch::Tensor& tokens, int layers_to_run) const {
  if (tokens.dim() != 2 || tokens.size(1) > config_.max_positions)
    throw std::invalid_argument(
        "CLIP text encoder: expected tokens (B, <=" + std::to_string(config_.max_positions) +
        "), found " + shape_text(tokens.sizes().vec()));
  const int64_t n_layers = static_cast<int64_t>(layers_.size());
  const int64_t run = layers_to_run < 0 ? n_layers : std::min<int64_t>(layers_to_run, n_layers);
  const int64_t len = tokens.size(1);

  ClipTextStates s;
  torch::Tensor x = torch::embedding(token_embedding_, tokens.to(torch::kLong)) +
                    position_embedding_.slice(0, 0, len);
  s.hidden.push_back(x);
  // Each position sees itself and those before it: -inf above the diagonal.
  const torch::Tensor mask =
      torch::full({len, len}, -std::numeric_limits<float>::infinity(), x.options())
          .triu(1)
          .unsqueeze(0);
  for (int64_t i = 0; i < run; ++i) {
    x = run_layer(layers_[i], x, mask);
    s.hidden.push_back(x);
  }
  if (run == n_layers) s.pooled = pool(x, tokens);
  return s;
}

torch::Tensor ClipTextModel::pool(const torch::Tensor& last_hidden,
                                  const torch::Tensor& tokens) const {
  // The EOS id is the vocabulary's highest, so argmax finds the first EOS
  // whether the padding is EOS (SD1's tokenizer) or 0 (OpenCLIP's).
  const torch::Tensor eos = tokens.to(torch::kLong).argmax(-1);
  const torch::Tensor rows = torch::arange(tokens.size(0), eos.options());
  torch::Tensor pooled = final_ln_(last_hidden.index({rows, eos}));
  if (text_projection_.defined()) pooled = pooled.matmul(text_projection_);
  return pooled;
}

}  // namespace atelier::ml::sd
