// Loading kohya LoRAs and merging them into an SdModel (see sd_lora.h).
#include "ml/sd/sd_lora.h"

#include <cmath>

#include "ml/sd/checkpoint_file.h"
#include "ml/sd/lora_hash.h"

namespace atelier::ml::sd {

namespace {

constexpr const char* kDown = ".lora_down.weight";
constexpr const char* kUp = ".lora_up.weight";
constexpr const char* kAlpha = ".alpha";

bool strip_suffix(const std::string& name, const std::string& suffix, std::string& stem) {
  if (name.size() <= suffix.size() ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  stem = name.substr(0, name.size() - suffix.size());
  return true;
}

std::vector<int64_t> dims(const torch::Tensor& t) {
  return t.sizes().vec();
}

// Why the module's shapes do not fit the target, or "" when they do.
std::string misfit(const SdLoraModule& m, const std::vector<int64_t>& target) {
  const auto up = dims(m.up), down = dims(m.down);
  const bool target_conv = target.size() == 4;
  const bool pointwise = !target_conv || (target[2] == 1 && target[3] == 1);
  if (target.size() != 2 && !target_conv) return "the target is neither linear nor a convolution";
  if (up[0] != target[0]) return "lora_up's " + std::to_string(up[0]) + " outputs";
  if (up[1] != down[0]) return "lora_up's rank differs from lora_down's";
  if (down[1] != target[1]) return "lora_down's " + std::to_string(down[1]) + " inputs";
  if (down.size() == 4 && !(target_conv ? (down[2] == target[2] && down[3] == target[3])
                                        : (down[2] == 1 && down[3] == 1)))
    return "lora_down's kernel";
  if (down.size() == 2 && !pointwise) return "a linear lora_down on a spatial convolution";
  return "";
}

std::vector<int64_t> target_rows(const LoraKeyTarget& t, const std::vector<int64_t>& shape) {
  if (t.kind != LoraTargetKind::qkv_part) return shape;
  std::vector<int64_t> s = shape;
  s[0] /= 3;
  return s;
}

std::string misfit_message(const SdLora& lora, const std::string& module, const std::string& why,
                           const std::string& target, const std::vector<int64_t>& target_shape) {
  const SdLoraModule& m = lora.modules.at(module);
  return lora.source + ": " + module + ": lora_up " + shape_text(dims(m.up)) + " @ lora_down " +
         shape_text(dims(m.down)) + " does not fit " + target + " " + shape_text(target_shape) +
         " (" + why + ")";
}

std::string list(const std::vector<std::string>& names, size_t most) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < most; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > most) s += ", and " + std::to_string(names.size() - most) + " more";
  return s;
}

}  // namespace

SdLora load_sd_lora(const std::filesystem::path& path) {
  CheckpointFile file = read_checkpoint(path);
  SdLora lora;
  lora.source = path.string();
  lora.metadata = std::move(file.metadata);
  Weights& w = file.weights;
  std::map<std::string, torch::Tensor> downs, ups;
  for (const std::string& name : w.names_under("")) {
    std::string stem;
    torch::Tensor t = w.take(name);
    if (strip_suffix(name, kDown, stem)) {
      downs[stem] = t;
    } else if (strip_suffix(name, kUp, stem)) {
      ups[stem] = t;
    } else if (strip_suffix(name, kAlpha, stem)) {
      if (t.numel() != 1 || !std::isfinite(t.item<double>()))
        throw WeightError(lora.source + ": " + name + ": alpha must be one finite number, found " +
                          shape_text(dims(t)));
      lora.modules[stem].alpha = t.item<double>();
    } else {
      throw WeightError(lora.source + ": " + name +
                        ": not a tensor of a kohya LoRA/LoCon (NAME.lora_down.weight, "
                        "NAME.lora_up.weight, NAME.alpha); other network kinds are not supported");
    }
  }
  for (const auto& [stem, m] : lora.modules)
    if (!downs.count(stem))
      throw WeightError(lora.source + ": " + stem + kAlpha + ": no " + stem + kDown + " beside it");
  for (auto& [stem, down] : downs) {
    auto up = ups.find(stem);
    if (up == ups.end())
      throw WeightError(lora.source + ": " + stem + kDown + ": no " + stem + kUp + " beside it");
    const auto d = dims(down), u = dims(up->second);
    const bool down_ok = d.size() == 2 || d.size() == 4;
    const bool up_ok = u.size() == 2 || (u.size() == 4 && u[2] == 1 && u[3] == 1);
    if (!down_ok || !up_ok || d[0] != u[1] || d[0] == 0)
      throw WeightError(lora.source + ": " + stem + ": lora_down " + shape_text(d) +
                        " and lora_up " + shape_text(u) +
                        " are not (r, in[, kh, kw]) and (out, r[, 1, 1])");
    SdLoraModule& m = lora.modules[stem];
    m.down = down;
    m.up = up->second;
  }
  for (const auto& [stem, up] : ups)
    if (!downs.count(stem))
      throw WeightError(lora.source + ": " + stem + kUp + ": no " + stem + kDown + " beside it");
  if (lora.modules.empty()) throw WeightError(lora.source + ": holds no LoRA modules");
  lora.addnet_hash = lora_addnet_hash(path);
  return lora;
}

torch::Tensor sd_lora_delta(const SdLora& lora, const std::string& module, double multiplier,
                            const std::string& target, const std::vector<int64_t>& target_shape) {
  const SdLoraModule& m = lora.modules.at(module);
  const std::string why = misfit(m, target_shape);
  if (!why.empty()) throw WeightError(misfit_message(lora, module, why, target, target_shape));
  const torch::Tensor product = m.up.flatten(1).mm(m.down.flatten(1));
  return (product * (multiplier * m.scale())).reshape(target_shape);
}

void check_sd_loras(const SdModel& model, const std::vector<SdLoraUse>& loras) {
  const LoraKeyMap map = lora_key_map(model);
  std::vector<std::string> problems;
  for (const SdLoraUse& use : loras) {
    const SdLora& lora = *use.lora;
    std::vector<std::string> unknown, misfits;
    for (const auto& [module, m] : lora.modules) {
      auto it = map.find(module);
      auto param = it == map.end() ? model.params.end() : model.params.find(it->second.tensor);
      if (param == model.params.end()) {
        unknown.push_back(module);
        continue;
      }
      const auto shape = target_rows(it->second, dims(param->second));
      const std::string why = misfit(m, shape);
      if (!why.empty()) misfits.push_back(misfit_message(lora, module, why, param->first, shape));
    }
    if (misfits.empty() && unknown.empty()) continue;
    std::string msg;
    if (!misfits.empty()) {
      msg = misfits[0];
      if (misfits.size() > 1)
        msg += "; and " + std::to_string(misfits.size() - 1) + " more modules that do not fit";
    }
    if (!unknown.empty())
      msg += (msg.empty() ? lora.source + ": " : "; ") + std::to_string(unknown.size()) +
             " module(s) name no part of this " + family_name(model.family) +
             " model: " + list(unknown, 20);
    auto base = lora.metadata.find("ss_base_model_version");
    if (base != lora.metadata.end())
      msg += " (the file says ss_base_model_version " + base->second + ")";
    problems.push_back(msg);
  }
  if (problems.empty()) return;
  std::string all;
  for (const std::string& p : problems) all += (all.empty() ? "" : "\n") + p;
  throw WeightError(all);
}

AppliedSdLoras::AppliedSdLoras(SdModel& model, const std::vector<SdLoraUse>& loras)
    : model_(model) {
  check_sd_loras(model, loras);
  const LoraKeyMap map = lora_key_map(model);
  torch::NoGradGuard no_grad;
  try {
    for (const SdLoraUse& use : loras) {
      for (const auto& [module, m] : use.lora->modules) {
        const LoraKeyTarget& target = map.at(module);
        torch::Tensor t = model.params.at(target.tensor);
        if (!saved_.count(target.tensor)) saved_.emplace(target.tensor, t.clone());
        torch::Tensor rows = target.kind == LoraTargetKind::qkv_part
                                 ? t.narrow(0, target.part * (t.size(0) / 3), t.size(0) / 3)
                                 : t;
        rows.add_(sd_lora_delta(*use.lora, module, use.multiplier, target.tensor, dims(rows))
                      .to(t.options()));
      }
    }
  } catch (...) {
    restore();
    throw;
  }
}

AppliedSdLoras::~AppliedSdLoras() {
  restore();
}

void AppliedSdLoras::restore() {
  torch::NoGradGuard no_grad;
  for (auto& [name, original] : saved_) model_.params.at(name).copy_(original);
  saved_.clear();
}

}  // namespace atelier::ml::sd
