// Model assembly, the denoiser wrapper and model files; see diffusion_model.h.
#include "ml/diffusion_model.h"

#include <cmath>
#include <set>

#include "ml/safetensors.h"
#include "ml/tensor_io.h"

namespace atelier::ml {

DiffusionModelImpl::DiffusionModelImpl(ModelConfig c, Tokenizer tok)
    : config(std::move(c)),
      tokenizer(std::move(tok)),
      schedule(NoiseSchedule::make(config.schedule, config.train_timesteps)) {
  config.validate();
  text = register_module("text", TextEncoder(config, tokenizer.size()));
  unet = register_module("unet", UNet(config));
}

torch::Tensor DiffusionModelImpl::tokenize(const std::vector<std::string>& prompts) const {
  std::vector<int64_t> ids;
  for (const auto& p : prompts) {
    auto e = tokenizer.encode(p, config.max_tokens);
    ids.insert(ids.end(), e.begin(), e.end());
  }
  return torch::tensor(ids, torch::kInt64)
      .view({static_cast<int64_t>(prompts.size()), config.max_tokens});
}

TextEncoding DiffusionModelImpl::encode(const std::vector<std::string>& prompts) {
  return text(tokenize(prompts));
}

torch::Tensor DiffusionModelImpl::predict(const torch::Tensor& x_t, const torch::Tensor& t,
                                          const TextEncoding& enc) {
  return unet(x_t, t, enc);
}

torch::Tensor DiffusionModelImpl::denoise(const torch::Tensor& x_scaled, double sigma,
                                          const TextEncoding& enc) {
  // x~ = x0 + sigma * eps, and x_t = alpha * x~ with alpha = 1 / sqrt(1 + sigma^2).
  const double alpha = 1.0 / std::sqrt(1.0 + sigma * sigma);
  const double s = sigma * alpha;  // sqrt(1 - alpha_bar)
  auto x_t = x_scaled * alpha;
  auto t = torch::full({x_scaled.size(0)}, schedule.timestep_of(sigma), torch::kFloat32);
  auto out = predict(x_t, t, enc);
  if (config.prediction == "v") return x_t * alpha - out * s;
  return (x_t - out * s) / alpha;
}

namespace {
std::map<std::string, std::string> model_metadata(const DiffusionModelImpl& m) {
  nlohmann::json vocab = m.tokenizer.vocabulary();
  return {{"atelier.format", kModelFormat},
          {"atelier.config", m.config.to_json().dump()},
          {"atelier.vocab", vocab.dump()}};
}
}  // namespace

DiffusionModel model_from_tensors(const ModelConfig& c, const Tokenizer& tok,
                                  const std::map<std::string, torch::Tensor>& tensors,
                                  const std::string& source, const std::string& prefix) {
  DiffusionModel model(c, tok);
  torch::NoGradGuard g;
  std::set<std::string> used;
  for (auto& p : model->named_parameters()) {
    auto it = tensors.find(prefix + p.key());
    if (it == tensors.end())
      throw FormatError(source + ": tensor '" + prefix + p.key() + "' is missing");
    if (it->second.sizes() != p.value().sizes())
      throw FormatError(source + ": tensor '" + prefix + p.key() + "' has shape " +
                        c10::str(it->second.sizes()) + ", the model needs " +
                        c10::str(p.value().sizes()));
    p.value().copy_(it->second);
    used.insert(it->first);
  }
  for (const auto& [name, t] : tensors)
    if (name.rfind(prefix, 0) == 0 && !used.count(name))
      throw FormatError(source + ": tensor '" + name + "' is not part of this model");
  return model;
}

LoadedModel load_model(const std::filesystem::path& path) {
  const std::string src = path.string();
  auto file = SafetensorsFile::read(path);
  const auto& md = file.metadata();
  auto get = [&](const char* key) -> const std::string& {
    auto it = md.find(key);
    if (it == md.end())
      throw FormatError(src + ": metadata '" + key +
                        "' is missing (not an Atelier diffusion model)");
    return it->second;
  };
  if (get("atelier.format") != kModelFormat)
    throw FormatError(src + ": model format '" + get("atelier.format") + "' is not " +
                      kModelFormat);
  ModelConfig config;
  std::vector<std::string> vocab;
  try {
    config = ModelConfig::from_json(nlohmann::json::parse(get("atelier.config")));
    auto v = nlohmann::json::parse(get("atelier.vocab"));
    if (!v.is_array()) throw std::invalid_argument("vocabulary is not a list");
    for (const auto& w : v) vocab.push_back(w.get<std::string>());
  } catch (const FormatError&) {
    throw;
  } catch (const std::exception& e) {
    throw FormatError(src + ": model metadata: " + e.what());
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& info : file.tensors()) tensors[info.name] = to_float_tensor(file, info, src);
  LoadedModel out{model_from_tensors(config, Tokenizer(vocab), tensors, src), md};
  out.model->eval();
  return out;
}

void save_model(const std::filesystem::path& path, DiffusionModel& model,
                std::map<std::string, std::string> metadata) {
  for (auto& [k, v] : model_metadata(*model)) metadata[k] = v;
  NamedTensors tensors;
  for (auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
  save_tensors(path, tensors, metadata);
}

void copy_parameters(torch::nn::Module& to, const torch::nn::Module& from) {
  torch::NoGradGuard g;
  auto src = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(src[p.key()]);
}

}  // namespace atelier::ml
