// Training the base text-to-image model on an emoji set: v-prediction with
// min-SNR loss weighting, AdamW with warm-up and cosine decay, EMA weights, and
// a checkpoint every N steps from which an interrupted run resumes exactly
// (each step's batch, timesteps and noise come from a generator seeded by
// (seed, step), so a resumed run sees the same data as an uninterrupted one).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "ml/model_config.h"

namespace atelier::ml {

struct TrainBaseOptions {
  std::filesystem::path output;          // the finished model (EMA weights)
  std::filesystem::path checkpoint_dir;  // checkpoint.safetensors lives here
  std::string model_name = "twemoji-base-32";
  std::string style = "twitter";
  std::filesystem::path package_dir;  // empty: emoji_package_dir(style)
  ModelConfig config;
  int steps = 6000;
  int batch = 32;
  double lr = 1e-3;
  int warmup = 200;
  double ema_decay = 0.999;
  double caption_dropout = 0.1;
  double min_snr_gamma = 5.0;
  int checkpoint_every = 200;
  uint64_t seed = 0;
  int threads = 0;       // 0: all cores
  int limit_images = 0;  // >0: first N training images (tests)
  bool fresh = false;    // ignore an existing checkpoint
  // Mixed precision: convolutions in bfloat16 (ml/conv_precision.h). Needs a CPU
  // with AVX-512 BF16; refused otherwise.
  bool bf16_convs = false;
  std::string command;  // recorded in the model's metadata
};

struct TrainProgress {
  int step = 0, steps = 0;
  double loss = 0;  // mean over the last reporting window
  double seconds_per_step = 0;
  bool resumed = false;  // this report is the first after resuming
};

struct TrainResult {
  int steps = 0;
  int images = 0;      // training images (after the held-out split)
  double seconds = 0;  // this process's training time
  double final_loss = 0;
};

// `should_stop` is polled every step; when it returns true a checkpoint is written
// and JobInterrupted is thrown.
TrainResult train_base(const TrainBaseOptions& o,
                       const std::function<void(const TrainProgress&)>& progress,
                       const std::function<bool()>& should_stop = {});

struct TrainingInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Caption for one training example: the emoji's name most of the time, else a
// short name, or the name with its subcategory or category; "" with probability
// `dropout` (the unconditional case classifier-free guidance needs).
struct EmojiRecord;
std::string sample_caption(const EmojiRecord& r, double dropout, uint64_t random);

}  // namespace atelier::ml
