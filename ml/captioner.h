// The captioner: a small CNN that looks at a 32x32 image (the diffusion model's
// preprocessing: RGBA over white, [-1, 1]) and scores
//  - the nine emoji categories (softmax),
//  - tags: the words of the emoji names it was trained on (independent sigmoids),
//  - the training emoji themselves (softmax), whose best name is the caption
//    sentence, in the very words the base model was trained on, so a LoRA
//    trained on these captions learns the style rather than new words.
// One safetensors file holds the weights and, in "atelier.captioner", the config
// with its label lists; loading is strict like the diffusion model's.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace atelier::ml {

inline constexpr const char* kCaptionerFormat = "atelier-captioner/1";

struct CaptionerConfig {
  int image_size = 32;
  int width = 32;  // channels of the first conv block; later blocks 2x, 4x, 8x
  std::vector<std::string> categories;
  std::vector<std::string> tags;   // name words
  std::vector<std::string> names;  // training emoji names (the caption sentences)
  // The category of each name (index into categories); empty in older files.
  std::vector<int> name_categories;
  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming the field.
  static CaptionerConfig from_json(const nlohmann::json& j);
};

struct CaptionerOutput {
  torch::Tensor category, tags, names;  // logits (B, n)
};

struct CaptionerImpl : torch::nn::Module {
  explicit CaptionerImpl(CaptionerConfig c);
  CaptionerOutput forward(const torch::Tensor& x);
  CaptionerConfig config;
  // (names, tags): 1 where the tag is a word of the name; (names, categories):
  // each name's category, when the config lists them. Not parameters.
  torch::Tensor name_tags, name_category;
  torch::nn::Sequential features{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear category_head{nullptr}, tag_head{nullptr}, name_head{nullptr};
};
TORCH_MODULE(Captioner);

// Probabilities for a batch, each averaged with the image's mirror (the model was
// trained with flips). With name_categories, the category is the mean of the
// category head and the category mass of the likely names. A tag's score is the mean of the tag
// head's own probability and the probability mass of the training names that contain the word: an
// emoji the model never saw still resembles known ones ("grinning face with big eyes" and "grinning
// face"), and their names carry the shared words.
struct CaptionerScores {
  torch::Tensor category, tags, names;  // (B, n) each
};
CaptionerScores score_images(Captioner& model, const torch::Tensor& images);

// The words of a name that count as tags: lower-case runs of letters and
// digits, without the stop words ("with", "of", "the", ...).
std::vector<std::string> name_words(const std::string& name);

struct Caption {
  std::string category;
  double category_p = 0;
  std::vector<std::pair<std::string, double>> tags;  // best first, p >= threshold (at least 1)
  std::string sentence;                              // the best name
  double sentence_p = 0;
};

// images: (B, 3, S, S). Evaluation mode, no gradients (score_images).
std::vector<Caption> caption_images(Captioner& model, const torch::Tensor& images, int max_tags = 8,
                                    double tag_threshold = 0.2);

struct LoadedCaptioner {
  Captioner model{nullptr};
  std::map<std::string, std::string> metadata;
};
LoadedCaptioner load_captioner(const std::filesystem::path& path);
void save_captioner(const std::filesystem::path& path, Captioner& model,
                    std::map<std::string, std::string> metadata);

}  // namespace atelier::ml
