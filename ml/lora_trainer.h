// LoRA training on captioned images: the base model stays frozen, only the
// adapters' down/up matrices learn (same loss as base training: v-prediction,
// min-SNR weighting). Every step's batch, caption variants, timesteps and noise
// come from a generator seeded by (seed, step), and a checkpoint holds the
// adapters and the optimiser moments, so a run resumed from a checkpoint ends
// with the same weights as one that was never interrupted.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ml/lora.h"

namespace atelier::ml {

struct LoraExample {
  torch::Tensor image;  // (3, S, S) in [-1, 1], S = the model's image size
  std::string caption;  // comma-separated tags, the first ones kept in place by shuffling
  std::string sha256;   // of the source image (metadata, checkpoint fingerprint)
};

struct TrainLoraOptions {
  int rank = 8;
  double alpha = 8;  // scale = alpha / rank
  double lr = 1e-3;
  int steps = 400;
  int batch = 8;
  int warmup = -1;  // <0: min(50, steps / 10)
  double caption_dropout = 0.05;
  bool shuffle_tags = false;
  int keep_tags = 1;    // leading tags that shuffling leaves in place (the trigger)
  std::string trigger;  // put first in every caption that does not already start with it
  bool convs = false;   // also adapt the residual blocks' 3x3 convolutions
  uint64_t seed = 0;
  double min_snr_gamma = 5.0;
  int checkpoint_every = 50;
  std::filesystem::path checkpoint_dir;  // empty: no checkpoints
  bool fresh = false;                    // ignore an existing checkpoint
  int threads = 0;                       // 0: all cores
  std::string output_name;               // ss_output_name
  int64_t started_at = 0;                // unix seconds for ss_training_started_at (0: now)
};

struct LoraTrainProgress {
  int step = 0, steps = 0;
  double loss = 0;
  double seconds_per_step = 0;
  int resumed_from = -1;  // >= 0 on the first report after resuming from that step
};

struct LoraTrainResult {
  Lora lora;  // with ss_* and atelier.* metadata
  int steps = 0;
  int resumed_from = 0;  // the checkpoint step training started from (0: fresh)
  double seconds = 0;
  double final_loss = 0;
  std::map<std::string, int> tag_frequency;
};

// Builds one step's caption from an example: trigger first, tags shuffled
// (except the first keep_tags), or "" with probability caption_dropout.
std::string lora_caption(const std::string& caption, const TrainLoraOptions& o, uint64_t random);
// Every comma-separated tag of the captions (trigger included), counted once per image.
std::map<std::string, int> tag_frequency(const std::vector<LoraExample>& data,
                                         const TrainLoraOptions& o);

// base_model: the safetensors file (loaded here, never shared with a cache).
// `should_stop` is polled every step; when it returns true a checkpoint is
// written and TrainingInterrupted (base_trainer.h) is thrown. Throws
// std::invalid_argument for bad options or data.
LoraTrainResult train_lora(const std::filesystem::path& base_model, const std::string& base_sha256,
                           const std::vector<LoraExample>& data, const TrainLoraOptions& o,
                           const std::function<void(const LoraTrainProgress&)>& progress = {},
                           const std::function<bool()>& should_stop = {});

}  // namespace atelier::ml
