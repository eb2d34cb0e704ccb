// Text conditioning of the SD families (see text_conditioning.h).
#include "ml/sd/text_conditioning.h"

#include <stdexcept>
#include <string>

namespace atelier::ml::sd {

namespace {

// The number of layers whose output the clip skip selects.
int layers_for(const ClipTextModel& te, int clip_skip) {
  const int layers = static_cast<int>(te.config().layers);
  if (clip_skip < 1 || clip_skip > layers)
    throw std::invalid_argument("clip skip " + std::to_string(clip_skip) + " is outside 1.." +
                                std::to_string(layers) + " (the text encoder's layers)");
  return layers + 1 - clip_skip;
}

}  // namespace

torch::Tensor clip_context(const ClipTextModel& te, const torch::Tensor& tokens, int clip_skip) {
  const int run = layers_for(te, clip_skip);
  return te.final_ln(te.forward(tokens, run).hidden.at(run));
}

SdxlText sdxl_text(const ClipTextModel& te_l, const ClipTextModel& te_g,
                   const torch::Tensor& tokens_l, const torch::Tensor& tokens_g, int clip_skip) {
  const int run_l = layers_for(te_l, clip_skip);
  const int run_g = layers_for(te_g, clip_skip);
  torch::Tensor l = te_l.forward(tokens_l, run_l).hidden.at(run_l);
  ClipTextStates g = te_g.forward(tokens_g);  // every layer: pooled needs the last
  return SdxlText{torch::cat({l, g.hidden.at(run_g)}, 2), g.pooled};
}

}  // namespace atelier::ml::sd
