// Header-only model inspection (see model_inspect.h).
#include "workers/generation/model_inspect.h"

#include <torch/torch.h>

#include "common/errors.h"
#include "ml/safetensors.h"
#include "ml/sd/checkpoint_file.h"
#include "ml/sd/sd_family.h"
#include "ml/sd/sd_model.h"

namespace atelier {

namespace {

// The family a kohya LoRA targets: what kohya's metadata says
// (ss_base_model_version), else two text encoders (te1/te2: SDXL) or the
// width of its text-encoder layers (768 CLIP-L, 1024 OpenCLIP-H).
std::string lora_arch(const ml::SafetensorsFile& head) {
  if (auto it = head.metadata().find("ss_base_model_version"); it != head.metadata().end()) {
    const std::string& v = it->second;
    if (v.rfind("sdxl", 0) == 0) return "SDXL";
    if (v.rfind("sd_v2", 0) == 0) return "SD 2.x";
    if (v.rfind("sd_v1", 0) == 0) return "SD 1.x";
  }
  bool te1 = false, te = false;
  int64_t te_width = 0;
  for (const auto& t : head.tensors()) {
    if (t.name.rfind("lora_te1_", 0) == 0 || t.name.rfind("lora_te2_", 0) == 0) te1 = true;
    if (t.name.rfind("lora_te_", 0) == 0) {
      te = true;
      if (t.name.find(".lora_down.weight") != std::string::npos && t.shape.size() == 2)
        te_width = std::max(te_width, t.shape[1]);
    }
  }
  if (te1) return "SDXL";
  if (te && te_width == 1024) return "SD 2.x";
  if (te && te_width == 768) return "SD 1.x";
  return te ? "SD 1.x/2.x" : "SD (UNet only)";
}

}  // namespace

ModelFacts inspect_model_file(const std::filesystem::path& file) {
  const std::string source = file.string();
  // Refuses a pickle unread and checks the header against the file's size.
  ml::SafetensorsFile head = [&] {
    try {
      return ml::sd::check_checkpoint_file(file);
    } catch (const ml::sd::WeightError& e) {
      throw InputError(e.what());
    }
  }();
  ModelFacts f;
  f.dtype = ml::sd::stored_float_dtype(head);
  const auto& meta = head.metadata();
  if (auto it = meta.find("atelier.format"); it != meta.end()) {
    f.kind = it->second.find("lora") != std::string::npos ? "lora" : "diffusion";
    f.format = it->second;
    f.arch = "atelier";
    return f;
  }
  bool lora = false;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& t : head.tensors()) {
    shapes[t.name] = t.shape;
    if (t.name.rfind("lora_", 0) == 0) lora = true;
  }
  if (lora) {
    f.kind = "lora";
    f.format = "kohya";
    f.arch = lora_arch(head);
    return f;
  }
  try {
    // As loading does: old SD 1.x names brought to today's layout.
    ml::sd::Weights w = ml::sd::Weights::from_shapes(ml::sd::normalise_names(shapes), source);
    const ml::sd::FileHints hints = ml::sd::read_hints(meta, source);
    const ml::sd::SdModel m = ml::sd::build_sd_model(w, hints);
    f.kind = "diffusion";
    f.format = "stable-diffusion";
    f.arch = ml::sd::family_name(m.family);
    f.prediction = ml::sd::prediction_name(m.prediction);
    f.prediction_source = m.prediction_source;
  } catch (const ml::sd::WeightError& e) {
    throw InputError(e.what());
  }
  return f;
}

}  // namespace atelier
