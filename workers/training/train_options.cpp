#include "workers/training/train_options.h"

#include <stdexcept>
#include <string>

#include "common/errors.h"
#include "common/text.h"

namespace atelier {

ml::TrainBaseOptions train_base_options(const TrainBaseParams& p) {
  ml::TrainBaseOptions o;
  o.model_name = p.name;
  o.style = p.style;
  o.steps = p.steps;
  o.batch = p.batch;
  o.lr = p.lr;
  o.seed = static_cast<uint64_t>(p.seed);
  o.checkpoint_every = p.checkpoint_every;
  o.limit_images = p.limit_images;
  o.bf16_convs = p.bf16_convs;
  if (p.channels) {
    o.config.channels = *p.channels;
    // cross-attention below the top level, self-attention at the lowest only
    o.config.attention.assign(o.config.channels.size(), true);
    o.config.attention[0] = false;
    o.config.self_attention.assign(o.config.channels.size(), false);
    o.config.self_attention.back() = true;
  }
  try {
    o.config.validate();
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("train_base: param 'channels': ") + e.what());
  }
  return o;
}

ml::TrainLoraOptions train_lora_options(const TrainLoraParams& p) {
  ml::TrainLoraOptions o;
  o.rank = p.rank;
  o.alpha = p.alpha.value_or(static_cast<double>(p.rank));
  o.steps = p.steps;
  o.lr = p.lr;
  o.batch = p.batch;
  o.caption_dropout = p.caption_dropout;
  o.keep_tags = p.keep_tags;
  o.checkpoint_every = p.checkpoint_every;
  o.seed = static_cast<uint64_t>(p.seed);
  o.shuffle_tags = p.shuffle_tags;
  o.convs = p.conv;
  o.trigger = trim_whitespace(p.trigger);
  if (o.trigger.find(',') != std::string::npos)
    throw InputError("train_lora: param 'trigger' must not contain a comma");
  return o;
}

}  // namespace atelier
