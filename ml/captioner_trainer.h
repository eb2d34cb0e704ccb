// Training and evaluating the captioner on an emoji set. Training uses the
// training split of the given styles (Twemoji by default), sampled by base emoji, with
// augmentation meant to carry it across drawing styles (flip, scale, rotation,
// shift, saturation/contrast/brightness jitter, blur, noise). Every step's batch
// and augmentation come from a generator seeded by (seed, step); a checkpoint
// after every epoch holds weights, batch-norm statistics and optimiser moments,
// so an interrupted run resumes where it stopped.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ml/captioner.h"
#include "ml/emoji_dataset.h"

namespace atelier::ml {

struct TrainCaptionerOptions {
  std::filesystem::path output;
  std::filesystem::path checkpoint_dir;  // empty: no checkpoints
  std::string model_name = "emoji-captioner-32";
  // Training-split images of these styles ("twitter", "google"); the held-out
  // base emoji stay out in every style.
  std::vector<std::string> styles = {"twitter"};
  std::filesystem::path package_dir;  // one style only: its package (tests)
  int width = 32;
  int epochs = 40;
  int samples_per_epoch = 6144;
  int batch = 128;
  double lr = 3e-3;
  double weight_decay = 5e-4;
  double label_smoothing = 0.1;
  int min_tag_emoji = 2;  // a name word becomes a tag when this many base emoji use it
  uint64_t seed = 0;
  int threads = 0;
  int limit_images = 0;  // >0: the first N training images (tests)
  bool fresh = false;
  std::string command;  // recorded in the metadata
};

struct CaptionerProgress {
  int epoch = 0, epochs = 0;
  double loss = 0;
  double seconds = 0;  // this epoch
  bool resumed = false;
};

struct CaptionerEval {
  std::string style;
  int images = 0;
  double category_accuracy = 0;
  double word_recall_at_5 = 0;    // mean over images of |name words in top-5 tags| / |name words|
  double tag_precision_at_5 = 0;  // mean over images of |top-5 tags in the name| / 5
  double sentence_accuracy = 0;   // caption sentence == the emoji's own name (training emoji only)
  std::map<std::string, std::pair<int, double>> per_category;  // images, accuracy
  nlohmann::json to_json() const;
};

struct CaptionerTrainResult {
  int epochs = 0;
  int images = 0, base_emoji = 0, tags = 0;
  double seconds = 0;
  double final_loss = 0;
  std::vector<CaptionerEval> evals;  // held-out base emoji, per style present
};

CaptionerTrainResult train_captioner(const TrainCaptionerOptions& o,
                                     const std::function<void(const CaptionerProgress&)>& progress,
                                     const std::function<bool()>& should_stop = {});

// The held-out base emoji of every style whose package is present (in
// `packages`, else the datasets cache).
std::vector<CaptionerEval> evaluate_held_out(
    Captioner& model, const std::map<std::string, std::filesystem::path>& packages = {});

// `records`: typically the held-out base emoji of one style.
CaptionerEval evaluate_captioner(Captioner& model, const std::vector<EmojiRecord>& records,
                                 const std::string& style);

}  // namespace atelier::ml
