// LoRA files, targets, application at generation and the trainable network.
#include "ml/lora.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <set>

#include "ml/safetensors.h"
#include "ml/tensor_io.h"

namespace atelier::ml {
namespace {

constexpr const char* kDown = ".lora_down.weight";
constexpr const char* kUp = ".lora_up.weight";
constexpr const char* kAlpha = ".alpha";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string last_component(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string shape_text(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

std::string kohya_key(const std::string& unet_path) {
  std::string k = "lora_unet_" + unet_path;
  for (size_t i = 10; i < k.size(); ++i)
    if (k[i] == '.') k[i] = '_';
  return k;
}

std::vector<LoraTarget> lora_targets(DiffusionModel& model, bool convs) {
  static const std::set<std::string> projections = {"to_q", "to_k", "to_v", "to_out"};
  std::vector<LoraTarget> out;
  for (const auto& item : model->unet->named_modules("", /*include_self=*/false)) {
    const std::string& path = item.key();
    const std::string leaf = last_component(path);
    if (auto lin = std::dynamic_pointer_cast<torch::nn::LinearImpl>(item.value());
        lin && projections.count(leaf)) {
      out.push_back(
          {kohya_key(path), path, item.value(), &lin->weight, false, lin->weight.sizes().vec()});
    } else if (auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(item.value());
               conv && convs && (leaf == "conv1" || leaf == "conv2")) {
      out.push_back(
          {kohya_key(path), path, item.value(), &conv->weight, true, conv->weight.sizes().vec()});
    }
  }
  if (out.empty()) throw std::invalid_argument("the model has no LoRA target modules");
  return out;
}

torch::Tensor LoraModule::delta(double multiplier) const {
  const double scale = multiplier * alpha / static_cast<double>(rank());
  if (down.dim() == 2) return torch::mm(up, down) * scale;
  const auto out = up.size(0);
  auto d = torch::mm(up.reshape({out, rank()}), down.reshape({rank(), -1})) * scale;
  return d.view({out, down.size(1), down.size(2), down.size(3)});
}

Lora load_lora(const std::filesystem::path& path) {
  const std::string src = path.string();
  auto f = SafetensorsFile::read(path);
  struct Parts {
    torch::Tensor down, up, alpha;
  };
  std::map<std::string, Parts> parts;
  for (const auto& info : f.tensors()) {
    const std::string& n = info.name;
    std::string key;
    torch::Tensor* slot = nullptr;
    if (ends_with(n, kDown)) {
      key = n.substr(0, n.size() - std::strlen(kDown));
      slot = &parts[key].down;
    } else if (ends_with(n, kUp)) {
      key = n.substr(0, n.size() - std::strlen(kUp));
      slot = &parts[key].up;
    } else if (ends_with(n, kAlpha)) {
      key = n.substr(0, n.size() - std::strlen(kAlpha));
      slot = &parts[key].alpha;
    } else {
      throw FormatError(src + ": tensor '" + n +
                        "' is not a LoRA tensor (expected <module>.lora_down.weight, "
                        "<module>.lora_up.weight or <module>.alpha)");
    }
    if (key.rfind("lora_te", 0) == 0)
      throw FormatError(src + ": '" + n +
                        "' adapts a text encoder; only UNet modules (lora_unet_*) are supported");
    if (key.rfind("lora_unet_", 0) != 0)
      throw FormatError(src + ": '" + n + "' is not a UNet module (lora_unet_*)");
    *slot = to_float_tensor(f, info, src);
  }
  if (parts.empty()) throw FormatError(src + ": holds no LoRA modules");
  Lora lora;
  lora.metadata = f.metadata();
  for (auto& [key, p] : parts) {
    if (!p.down.defined() || !p.up.defined())
      throw FormatError(src + ": module '" + key + "' needs both lora_down and lora_up weights");
    const bool linear = p.down.dim() == 2 && p.up.dim() == 2;
    const bool conv =
        p.down.dim() == 4 && p.up.dim() == 4 && p.up.size(2) == 1 && p.up.size(3) == 1;
    if (!linear && !conv)
      throw FormatError(src + ": module '" + key + "': lora_down " + shape_text(p.down.sizes()) +
                        " and lora_up " + shape_text(p.up.sizes()) +
                        " are neither a linear pair ([r, in], [out, r]) nor a conv pair "
                        "([r, in, kh, kw], [out, r, 1, 1])");
    if (p.down.size(0) < 1 || p.down.size(0) != p.up.size(1))
      throw FormatError(src + ": module '" + key + "': lora_down rank " +
                        std::to_string(p.down.size(0)) + " differs from lora_up rank " +
                        std::to_string(p.up.size(1)));
    LoraModule m{p.down.contiguous(), p.up.contiguous(), static_cast<double>(p.down.size(0))};
    if (p.alpha.defined()) {
      if (p.alpha.numel() != 1)
        throw FormatError(src + ": module '" + key + "': alpha must be a scalar, has shape " +
                          shape_text(p.alpha.sizes()));
      m.alpha = p.alpha.flatten()[0].item<double>();
      if (!std::isfinite(m.alpha) || m.alpha <= 0)
        throw FormatError(src + ": module '" + key + "': alpha must be positive and finite, is " +
                          std::to_string(m.alpha));
    }
    if (!torch::isfinite(m.down).all().item<bool>() || !torch::isfinite(m.up).all().item<bool>())
      throw FormatError(src + ": module '" + key + "' has non-finite weights");
    lora.modules.emplace(key, std::move(m));
  }
  return lora;
}

void save_lora(const std::filesystem::path& path, const Lora& lora) {
  NamedTensors t;
  for (const auto& [key, m] : lora.modules) {
    t.emplace_back(key + kDown, m.down.contiguous());
    t.emplace_back(key + kUp, m.up.contiguous());
    t.emplace_back(key + kAlpha, torch::tensor(static_cast<float>(m.alpha)));
  }
  save_tensors(path, t, lora.metadata);
}

void check_lora_fits(const Lora& lora, const std::vector<LoraTarget>& targets,
                     const std::string& source) {
  std::map<std::string, const LoraTarget*> by_key;
  for (const auto& t : targets) by_key[t.key] = &t;
  for (const auto& [key, m] : lora.modules) {
    auto it = by_key.find(key);
    if (it == by_key.end())
      throw std::invalid_argument(source + ": module '" + key +
                                  "' is not in this model; the LoRA was trained for another "
                                  "architecture");
    const auto& ws = it->second->weight_shape;
    const bool ok = ws.size() == 2
                        ? m.down.dim() == 2 && m.down.size(1) == ws[1] && m.up.size(0) == ws[0]
                        : m.down.dim() == 4 && m.down.size(1) == ws[1] && m.down.size(2) == ws[2] &&
                              m.down.size(3) == ws[3] && m.up.size(0) == ws[0];
    if (!ok)
      throw std::invalid_argument(
          source + ": module '" + key + "': lora_down " + shape_text(m.down.sizes()) +
          " and lora_up " + shape_text(m.up.sizes()) + " do not fit its weight " + shape_text(ws));
  }
}

AppliedLoras::AppliedLoras(DiffusionModel& model, const std::vector<LoraUse>& loras)
    : model_(model) {
  auto targets = lora_targets(model, /*convs=*/true);
  for (const auto& use : loras) check_lora_fits(*use.lora, targets, use.source);
  torch::NoGradGuard g;
  for (auto& t : targets) {
    torch::Tensor sum;
    for (const auto& use : loras) {
      if (use.multiplier == 0) continue;  // exactly the base weights
      auto it = use.lora->modules.find(t.key);
      if (it == use.lora->modules.end()) continue;
      auto d = it->second.delta(use.multiplier);
      sum = sum.defined() ? sum + d : d;
    }
    if (!sum.defined()) continue;
    torch::Tensor original = *t.weight;
    *t.weight = original + sum;
    saved_.emplace_back(std::move(t), std::move(original));
  }
}

AppliedLoras::~AppliedLoras() {
  for (auto& [t, original] : saved_) *t.weight = original;
}

LoraNetwork::LoraNetwork(DiffusionModel& model, int rank, double alpha, bool convs, uint64_t seed)
    : model_(model), rank_(rank), alpha_(alpha), targets_(lora_targets(model, convs)) {
  if (rank < 1) throw std::invalid_argument("rank must be at least 1");
  if (!(alpha > 0) || !std::isfinite(alpha))
    throw std::invalid_argument("alpha must be positive and finite");
  auto gen = at::detail::createCPUGenerator(seed);
  torch::NoGradGuard g;
  for (const auto& t : targets_) {
    const auto& ws = t.weight_shape;
    const int64_t fan_in = ws.size() == 2 ? ws[1] : ws[1] * ws[2] * ws[3];
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    std::vector<int64_t> dshape = {rank, ws[1]}, ushape = {ws[0], rank};
    if (ws.size() == 4) {
      dshape = {rank, ws[1], ws[2], ws[3]};
      ushape = {ws[0], rank, 1, 1};
    }
    auto down = (torch::rand(dshape, gen) * 2 - 1) * bound;
    auto up = torch::zeros(ushape);
    down.set_requires_grad(true);
    up.set_requires_grad(true);
    down_.push_back(down);
    up_.push_back(up);
    original_.push_back(*t.weight);
  }
}

LoraNetwork::~LoraNetwork() {
  detach();
}

void LoraNetwork::attach() {
  const double scale = alpha_ / rank_;
  for (size_t i = 0; i < targets_.size(); ++i) {
    const auto& ws = targets_[i].weight_shape;
    torch::Tensor d =
        ws.size() == 2
            ? torch::mm(up_[i], down_[i])
            : torch::mm(up_[i].reshape({ws[0], rank_}), down_[i].reshape({rank_, -1})).view(ws);
    *targets_[i].weight = original_[i] + d * scale;
  }
  attached_ = true;
}

void LoraNetwork::detach() {
  if (!attached_) return;
  for (size_t i = 0; i < targets_.size(); ++i) *targets_[i].weight = original_[i];
  attached_ = false;
}

std::vector<torch::Tensor> LoraNetwork::parameters() const {
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < targets_.size(); ++i) {
    out.push_back(down_[i]);
    out.push_back(up_[i]);
  }
  return out;
}

std::vector<std::pair<std::string, torch::Tensor>> LoraNetwork::named() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < targets_.size(); ++i) {
    out.emplace_back(targets_[i].key + kDown, down_[i]);
    out.emplace_back(targets_[i].key + kUp, up_[i]);
  }
  return out;
}

Lora LoraNetwork::to_lora() const {
  Lora l;
  for (size_t i = 0; i < targets_.size(); ++i)
    l.modules.emplace(targets_[i].key,
                      LoraModule{down_[i].detach().clone(), up_[i].detach().clone(), alpha_});
  return l;
}

}  // namespace atelier::ml
