// `atelier verify --regenerate` (atelier-ml only): re-runs the generation a
// manifest records, so that the pixels of a file can be proved to follow from its
// recorded model, LoRAs and parameters. Pixels are reproducible for the same
// model, request, batch and thread count (ml/generator.h), so the image is
// redrawn in the batch it was drawn in (generation.batch, generation.batch_index;
// a manifest without them is redrawn alone) with the recorded thread count.
#include <torch/torch.h>

#include <chrono>
#include <optional>

#include "common/errors.h"
#include "kinds/generate.h"
#include "media/image_decode.h"
#include "ml/generator.h"
#include "ml/lora.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/model_files.h"
#include "verify.h"
#include "workers/generation/model_cache.h"
#include "workers/generation/sd_generation.h"

namespace atelier::cli {

namespace fs = std::filesystem;

namespace {

const json& field(const json& obj, const char* name, const std::string& where) {
  if (!obj.is_object() || !obj.contains(name))
    throw InputError("manifest: " + where + name + " is missing");
  return obj[name];
}

template <typename T>
T number(const json& obj, const char* name, const std::string& where) {
  const json& v = field(obj, name, where);
  if (!v.is_number()) throw InputError("manifest: " + where + name + " must be a number");
  return v.get<T>();
}

std::string text(const json& obj, const char* name, const std::string& where) {
  const json& v = field(obj, name, where);
  if (!v.is_string()) throw InputError("manifest: " + where + name + " must be text");
  return v.get<std::string>();
}

// The file with this sha256: the store's record of it, else the model folders by
// the recorded name (checked by hash: a same-named file with other weights is not
// the model that drew the image).
fs::path find_by_sha256(const std::string& sha, const std::string& name, const std::string& what,
                        const Workspace& ws, Store& store) {
  const AssetStore assets = ws.asset_store();
  std::string why;
  for (const std::string& ref : {sha, name}) {
    if (ref.empty()) continue;
    try {
      auto loc = locate_model(ref, ws.config(), store, assets);
      if (ref == sha || sha256_file(loc.file) == sha) return loc.file;
      why = loc.file.string() + " has other weights";
    } catch (const InputError& e) {
      if (why.empty()) why = e.what();
    }
  }
  throw InputError("manifest: " + what + " '" + name + "' (sha256 " + sha +
                   ") is not available here: " + why);
}

// A Stable Diffusion checkpoint: each image is drawn on its own from its seed
// (sd_generation.h), so this one is redrawn alone with the recorded settings
// and the job's own tokenizer, prediction and clip skip parameters.
provenance::Regenerated regenerate_sd(const json& m, const json& gen, const fs::path& base,
                                      const std::vector<SdLoraFile>& loras, int threads, int width,
                                      int height, const Workspace& ws, Store& store) {
  const std::string g = "generation.";
  const json params =
      m.contains("params") && m["params"].is_object() ? m["params"] : json::object();
  json given = {{"steps", number<int>(gen, "steps", g)},
                {"cfg", number<double>(gen, "cfg", g)},
                {"sampler", text(gen, "sampler", g)},
                {"prompt", text(gen, "prompt", g)},
                {"negative", text(gen, "negative_prompt", g)},
                {"seed", number<int64_t>(gen, "seed", g)},
                {"count", 1},
                {"size", std::to_string(width) + "x" + std::to_string(height)}};
  for (const char* k : {"tokenizer", "prediction", "clip_skip", "strength"})
    if (params.contains(k)) given[k] = params[k];
  // img2img: the one image among the job's recorded inputs, from the store.
  std::optional<media::Image> init;
  if (gen.contains("settings") &&
      gen["settings"].dump().find("Denoising strength") != std::string::npos) {
    std::vector<fs::path> images;
    const AssetStore assets = ws.asset_store();
    for (const json& in : m.value("inputs", json::array())) {
      if (!in.is_object() || !in.contains("sha256") || !in["sha256"].is_string()) continue;
      auto row = store.get_asset(in["sha256"].get<std::string>());
      if (row && row->media_type.rfind("image/", 0) == 0)
        images.push_back(assets.path_for(row->sha256, row->ext));
    }
    if (images.size() != 1)
      throw InputError(
          "manifest: an img2img image whose start image is not one stored asset here (" +
          std::to_string(images.size()) + " found)");
    init = media::read_image(images[0]);
  }
  GenerateParams p;
  try {
    p = generate_kind().parse(given);
  } catch (const InputError& e) {
    throw InputError(std::string("manifest: ") + e.what());
  }
  const auto t0 = std::chrono::steady_clock::now();
  SdGeneration sd = generate_with_sd(p, given, base, init ? &*init : nullptr, loras, threads,
                                     [](const fs::path& f, std::string_view) { return f; });
  provenance::Regenerated out;
  out.image = std::move(sd.images.at(0));
  out.model_file = base.string();
  out.threads = threads;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.libtorch = ml::torch_version();
  return out;
}

}  // namespace

provenance::Regenerated regenerate_from_manifest(const json& m, const Workspace& ws, Store& store) {
  const json& gen = field(m, "generation", "");
  const std::string g = "generation.";
  ml::GenerateRequest r;
  r.prompt = text(gen, "prompt", g);
  r.negative_prompt = text(gen, "negative_prompt", g);
  r.steps = number<int>(gen, "steps", g);
  try {
    const ml::SamplerChoice c = ml::parse_sampler_choice(text(gen, "sampler", g));
    r.sampler = c.kind;
    r.grid = c.grid;
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("manifest: generation.sampler: ") + e.what());
  }
  r.cfg = number<double>(gen, "cfg", g);
  const int width = number<int>(gen, "width", g), height = number<int>(gen, "height", g);
  r.size = width;
  const int batch = gen.contains("batch") ? number<int>(gen, "batch", g) : 1;
  const int index = gen.contains("batch_index") ? number<int>(gen, "batch_index", g) : 0;
  if (batch < 1 || index < 0 || index >= batch)
    throw InputError("manifest: generation.batch_index must be in 0..batch-1");
  r.seed = number<int64_t>(gen, "seed", g) - index;
  r.count = r.batch = batch;
  const int threads = std::max(1, number<int>(gen, "threads", g));

  const json& models = field(m, "models", "");
  if (!models.is_array()) throw InputError("manifest: models must be a list");
  std::optional<fs::path> base;
  struct LoraFile {
    fs::path file;
    double scale;
    std::string name;
  };
  std::vector<LoraFile> lora_files;
  std::vector<std::shared_ptr<CachedLora>> loras;
  std::vector<ml::LoraUse> uses;
  loras.reserve(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string where = "models[" + std::to_string(i) + "].";
    const json& item = models[i];
    const std::string role = text(item, "role", where), sha = text(item, "sha256", where);
    const std::string name = item.value("name", "");
    if (role == "base") {
      base = find_by_sha256(sha, name, "model", ws, store);
    } else if (role == "lora") {
      const auto file = find_by_sha256(sha, name, "LoRA", ws, store);
      lora_files.push_back({file, number<double>(item, "scale", where), name});
    }
  }
  if (!base) throw InputError("manifest: models lists no base model");
  std::vector<SdLoraFile> sd_loras;
  for (const auto& [file, scale, name] : lora_files) sd_loras.push_back({file, scale, name});
  if (!is_atelier_model_file(*base))
    return regenerate_sd(m, gen, *base, sd_loras, threads, width, height, ws, store);
  if (width != height) throw InputError("manifest: generation.width and height differ");
  for (const auto& [file, scale, name] : lora_files) {
    try {
      loras.push_back(load_cached_lora(file));
    } catch (const std::exception& e) {
      throw InputError("LoRA " + file.string() + ": " + e.what());
    }
    uses.push_back({&loras.back()->lora, scale, file.string()});
  }
  std::shared_ptr<CachedModel> model;
  try {
    model = load_cached_model(*base);
  } catch (const std::exception& e) {
    throw InputError("model " + base->string() + ": " + e.what());
  }
  try {
    ml::validate_request(r, model->model->config);
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("manifest: generation: ") + e.what());
  }
  at::set_num_threads(threads);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<media::Image> images;
  {
    std::optional<ml::AppliedLoras> applied;
    try {
      applied.emplace(model->model, uses);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("LoRA ") + e.what());
    }
    images = ml::generate(model->model, r);
  }
  provenance::Regenerated out;
  out.image = std::move(images.at(static_cast<size_t>(index)));
  out.model_file = base->string();
  out.threads = threads;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.libtorch = ml::torch_version();
  return out;
}

}  // namespace atelier::cli
