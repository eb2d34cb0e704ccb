// Family detection and metadata hints (see sd_family.h).
#include "ml/sd/sd_family.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace atelier::ml::sd {

namespace {

using nlohmann::json;

const json* find_path(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* k : path) {
    if (!at->is_object() || !at->contains(k)) return nullptr;
    at = &(*at)[k];
  }
  return at;
}

std::optional<int> positive_int(const json* v) {
  if (v && v->is_number_integer() && v->get<int>() > 0) return v->get<int>();
  return std::nullopt;
}

// One renaming for tensors and for shape-only inventories.
template <class V>
std::map<std::string, V> normalised(std::map<std::string, V> t) {
  const std::string old_prefix = "cond_stage_model.transformer.", now = old_prefix + "text_model.";
  if (t.lower_bound(now) != t.end() && t.lower_bound(now)->first.rfind(now, 0) == 0) return t;
  std::map<std::string, V> out;
  for (auto& [name, value] : t)
    out.emplace(name.rfind(old_prefix, 0) == 0 ? now + name.substr(old_prefix.size()) : name,
                std::move(value));
  return out;
}

}  // namespace

std::string family_name(SdFamily f) {
  switch (f) {
    case SdFamily::sd1:
      return "SD 1.x";
    case SdFamily::sd2:
      return "SD 2.x";
    case SdFamily::sdxl:
      return "SDXL";
  }
  return "?";
}

std::string prediction_name(Prediction p) {
  return p == Prediction::v ? "v" : "epsilon";
}

Prediction parse_prediction(const std::string& s) {
  if (s == "epsilon" || s == "eps") return Prediction::epsilon;
  if (s == "v" || s == "v_prediction") return Prediction::v;
  throw std::invalid_argument("prediction must be epsilon or v, got '" + s + "'");
}

SdFamily detect_family(const Weights& w) {
  const bool clip_l = !w.names_under("cond_stage_model.transformer.").empty();
  const bool open_clip = !w.names_under("cond_stage_model.model.").empty();
  const bool xl_l = !w.names_under("conditioner.embedders.0.transformer.").empty();
  const bool xl_g = !w.names_under("conditioner.embedders.1.model.").empty();
  const bool unet = !w.names_under("model.diffusion_model.").empty();
  if (unet && xl_l && xl_g) return SdFamily::sdxl;
  if (unet && clip_l) return SdFamily::sd1;
  if (unet && open_clip) return SdFamily::sd2;
  std::string found;
  if (!unet)
    found = "no UNet (model.diffusion_model.*)";
  else if (!w.names_under("conditioner.embedders.0.model.").empty())
    found = "an SDXL refiner (one OpenCLIP encoder, no CLIP-L), which is not supported";
  else
    found = "a UNet without a text encoder this loader knows";
  if (!w.names_under("lora_").empty()) found = "LoRA weights (lora_*), not a checkpoint";
  throw WeightError(w.source() + ": not a Stable Diffusion 1.x, 2.x or SDXL checkpoint: found " +
                    found);
}

FileHints read_hints(const std::map<std::string, std::string>& metadata,
                     const std::string& source) {
  FileHints h;
  auto parse = [&](const std::string& key) -> std::optional<json> {
    auto it = metadata.find(key);
    if (it == metadata.end()) return std::nullopt;
    try {
      return json::parse(it->second);
    } catch (const json::exception&) {
      throw WeightError(source + ": metadata '" + key + "' is not valid JSON");
    }
  };
  if (auto it = metadata.find("modelspec.prediction_type"); it != metadata.end()) {
    try {
      h.prediction = parse_prediction(it->second);
    } catch (const std::invalid_argument&) {
      throw WeightError(source + ": metadata 'modelspec.prediction_type' is '" + it->second +
                        "', expected epsilon or v");
    }
  }
  if (auto cfg = parse("config")) {
    const json* params = find_path(*cfg, {"params"});
    if (params) {
      if (const json* p = find_path(*params, {"parameterization"});
          p && p->is_string() && !h.prediction)
        h.prediction =
            parse_prediction(p->get<std::string>() == "eps" ? "epsilon" : p->get<std::string>());
      for (const char* net : {"unet_config", "network_config"})
        if (const json* u = find_path(*params, {net, "params"})) {
          h.unet_heads = positive_int(find_path(*u, {"num_heads"}));
          h.unet_head_channels = positive_int(find_path(*u, {"num_head_channels"}));
          if (h.unet_head_channels) h.unet_heads.reset();
        }
      auto number = [&](const char* k) -> std::optional<double> {
        const json* v = find_path(*params, {k});
        if (v && v->is_number()) return v->get<double>();
        return std::nullopt;
      };
      h.beta_start = number("linear_start");
      h.beta_end = number("linear_end");
      h.scale_factor = number("scale_factor");
    }
  }
  for (const char* key : {"clip_l", "tiny_clip_l"})
    if (auto c = parse(key)) h.clip_l_heads = positive_int(find_path(*c, {"num_attention_heads"}));
  for (const char* key : {"open_clip", "tiny_open_clip"})
    if (auto c = parse(key)) h.open_clip_heads = positive_int(find_path(*c, {"text_cfg", "heads"}));
  return h;
}

std::map<std::string, torch::Tensor> normalise_names(std::map<std::string, torch::Tensor> t) {
  return normalised(std::move(t));
}

std::map<std::string, std::vector<int64_t>> normalise_names(
    std::map<std::string, std::vector<int64_t>> shapes) {
  return normalised(std::move(shapes));
}

void skip_schedule_buffers(Weights& w) {
  for (const char* name : {"betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                           "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod",
                           "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
                           "posterior_variance", "posterior_log_variance_clipped",
                           "posterior_mean_coef1", "posterior_mean_coef2", "denoiser.sigmas"})
    w.skip(name);
  // EMA copies of the UNet that training left in the file; the live weights are used.
  for (const std::string& name : w.names_under("model_ema.")) w.skip(name);
}

}  // namespace atelier::ml::sd
