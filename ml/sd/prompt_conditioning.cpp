// Prompts to conditioning (see prompt_conditioning.h).
#include "ml/sd/prompt_conditioning.h"

#include "ml/sd/prompt_weights.h"
#include "ml/sd/text_conditioning.h"

namespace atelier::ml::sd {

namespace {

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).unsqueeze(0);
}

// A1111's emphasis on one encoder's (1, 77, C) output of one chunk.
torch::Tensor weighted(torch::Tensor z, const std::vector<float>& multipliers) {
  z = z.to(torch::kFloat32).contiguous();
  apply_emphasis(std::span<float>(z.data_ptr<float>(), static_cast<size_t>(z.numel())),
                 std::span<const float>(multipliers), z.size(2));
  return z;
}

int default_skip(SdFamily f) {
  switch (f) {
    case SdFamily::sd1:
      return kSd1DefaultClipSkip;
    case SdFamily::sd2:
      return kSd2DefaultClipSkip;
    case SdFamily::sdxl:
      return kSdxlDefaultClipSkip;
  }
  return 1;
}

Conditioning encode(const SdModel& m, const WeightedPrompt& chunks_l,
                    const WeightedPrompt& chunks_g, int skip, const SdxlSizes& sizes) {
  std::vector<torch::Tensor> parts;
  torch::Tensor pooled;
  for (size_t i = 0; i < chunks_l.chunks.size(); ++i) {
    const PromptChunk& cl = chunks_l.chunks[i];
    if (m.family == SdFamily::sd1) {
      parts.push_back(weighted(clip_context(*m.te_l, ids_tensor(cl.ids), skip), cl.multipliers));
    } else if (m.family == SdFamily::sd2) {
      parts.push_back(weighted(clip_context(*m.te_g, ids_tensor(cl.ids), skip), cl.multipliers));
    } else {
      const PromptChunk& cg = chunks_g.chunks[i];
      SdxlText t = sdxl_text(*m.te_l, *m.te_g, ids_tensor(cl.ids), ids_tensor(cg.ids), skip);
      const int64_t wl = m.te_l->config().width;
      auto l = weighted(t.crossattn.slice(2, 0, wl), cl.multipliers);
      auto g = weighted(t.crossattn.slice(2, wl), cg.multipliers);
      parts.push_back(torch::cat({l, g}, 2));
      if (i == 0) pooled = t.pooled;
    }
  }
  Conditioning c{torch::cat(parts, 1), {}};
  if (m.family == SdFamily::sdxl) c.y = sdxl_vector(pooled, sizes);
  return c;
}

}  // namespace

PromptPair encode_prompts(const SdModel& m, const ClipTokenizer& tok, std::string_view prompt,
                          std::string_view negative, int clip_skip, const SdxlSizes& sizes) {
  torch::NoGradGuard no_grad;
  const int skip = clip_skip > 0 ? clip_skip : default_skip(m.family);
  // SD1 and SDXL's CLIP-L pad with the end token; SD2 and bigG with zeros.
  const Padding pad_l = m.family == SdFamily::sd2 ? Padding::zero : Padding::end_token;
  WeightedPrompt pos_l = tokenize_weighted_prompt(tok, prompt, pad_l);
  WeightedPrompt neg_l = tokenize_weighted_prompt(tok, negative, pad_l);
  WeightedPrompt pos_g, neg_g;
  if (m.family == SdFamily::sdxl) {
    pos_g = tokenize_weighted_prompt(tok, prompt, Padding::zero);
    neg_g = tokenize_weighted_prompt(tok, negative, Padding::zero);
  }
  auto pad_to = [&](WeightedPrompt& p, size_t n, Padding padding) {
    while (p.chunks.size() < n) p.chunks.push_back(empty_chunk(tok, padding));
  };
  const size_t n = std::max(pos_l.chunks.size(), neg_l.chunks.size());
  pad_to(pos_l, n, pad_l);
  pad_to(neg_l, n, pad_l);
  if (m.family == SdFamily::sdxl) {
    pad_to(pos_g, n, Padding::zero);
    pad_to(neg_g, n, Padding::zero);
  }
  PromptPair out;
  out.positive = encode(m, pos_l, pos_g, skip, sizes);
  out.negative = encode(m, neg_l, neg_g, skip, sizes);
  out.tokens = pos_l.token_count;
  return out;
}

}  // namespace atelier::ml::sd
