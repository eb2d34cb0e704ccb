// ModelConfig <-> JSON, with range checks so a hostile model file cannot ask
// for absurd module sizes.
#include "ml/model_config.h"

#include <set>
#include <stdexcept>

namespace atelier::ml {

nlohmann::json ModelConfig::to_json() const {
  return {{"image_size", image_size},
          {"image_channels", image_channels},
          {"channels", channels},
          {"attention", attention},
          {"self_attention", self_attention},
          {"res_blocks", res_blocks},
          {"heads", heads},
          {"time_dim", time_dim},
          {"text_dim", text_dim},
          {"text_layers", text_layers},
          {"text_heads", text_heads},
          {"max_tokens", max_tokens},
          {"train_timesteps", train_timesteps},
          {"schedule", schedule},
          {"prediction", prediction}};
}

namespace {
int get_int(const nlohmann::json& j, const char* key, int lo, int hi, int fallback) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number_integer()) throw std::invalid_argument(std::string(key) + ": not an integer");
  auto x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw std::invalid_argument(std::string(key) + ": " + std::to_string(x) + " is outside " +
                                std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(x);
}
}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("model config is not a JSON object");
  static const std::set<std::string> known = {
      "image_size", "image_channels", "channels",        "attention", "self_attention",
      "res_blocks", "heads",          "time_dim",        "text_dim",  "text_layers",
      "text_heads", "max_tokens",     "train_timesteps", "schedule",  "prediction"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key()))
      throw std::invalid_argument("unknown model config key '" + it.key() + "'");
  ModelConfig c;
  c.image_size = get_int(j, "image_size", 8, 1024, c.image_size);
  c.image_channels = get_int(j, "image_channels", 1, 4, c.image_channels);
  c.res_blocks = get_int(j, "res_blocks", 1, 8, c.res_blocks);
  c.heads = get_int(j, "heads", 1, 64, c.heads);
  c.time_dim = get_int(j, "time_dim", 8, 4096, c.time_dim);
  c.text_dim = get_int(j, "text_dim", 8, 4096, c.text_dim);
  c.text_layers = get_int(j, "text_layers", 0, 48, c.text_layers);
  c.text_heads = get_int(j, "text_heads", 1, 64, c.text_heads);
  c.max_tokens = get_int(j, "max_tokens", 2, 512, c.max_tokens);
  c.train_timesteps = get_int(j, "train_timesteps", 10, 100000, c.train_timesteps);
  if (j.contains("channels")) {
    const auto& ch = j.at("channels");
    if (!ch.is_array() || ch.empty() || ch.size() > 6)
      throw std::invalid_argument("channels: must be a list of 1 to 6 integers");
    c.channels.clear();
    for (const auto& v : ch) {
      if (!v.is_number_integer() || v.get<int64_t>() < 8 || v.get<int64_t>() > 4096)
        throw std::invalid_argument("channels: each must be an integer in 8..4096");
      c.channels.push_back(v.get<int>());
    }
  }
  auto bools = [&](const char* key, std::vector<bool>& out) {
    if (!j.contains(key)) return;
    const auto& at = j.at(key);
    if (!at.is_array())
      throw std::invalid_argument(std::string(key) + ": must be a list of booleans");
    out.clear();
    for (const auto& v : at) {
      if (!v.is_boolean())
        throw std::invalid_argument(std::string(key) + ": must be a list of booleans");
      out.push_back(v.get<bool>());
    }
  };
  bools("attention", c.attention);
  bools("self_attention", c.self_attention);
  if (j.contains("schedule")) c.schedule = j.at("schedule").get<std::string>();
  if (j.contains("prediction")) c.prediction = j.at("prediction").get<std::string>();
  c.validate();
  return c;
}

void ModelConfig::validate() const {
  if (attention.size() != channels.size())
    throw std::invalid_argument("attention: needs one entry per level in channels");
  if (self_attention.size() != channels.size())
    throw std::invalid_argument("self_attention: needs one entry per level in channels");
  if (image_size % (1 << (channels.size() - 1)) != 0)
    throw std::invalid_argument("image_size: must be divisible by 2^(levels-1)");
  for (int ch : channels)
    if (ch % 8 != 0 || ch % heads != 0)
      throw std::invalid_argument("channels: each must be a multiple of 8 and of heads");
  if (text_dim % text_heads != 0)
    throw std::invalid_argument("text_dim: must be a multiple of text_heads");
  if (schedule != "cosine" && schedule != "linear")
    throw std::invalid_argument("schedule: must be cosine or linear");
  if (prediction != "v" && prediction != "epsilon")
    throw std::invalid_argument("prediction: must be v or epsilon");
}

}  // namespace atelier::ml
