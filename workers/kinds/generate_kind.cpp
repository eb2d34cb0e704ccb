// The `generate` kind: text-to-image with a diffusion model. Writes one PNG
// asset per image, with the A1111 `parameters` chunk and the Atelier manifest
// signed with the workspace key, records the model (by sha256) as an input of
// the job, and keeps loaded models cached in the worker. Bad params are
// InputErrors naming the param; the worker lives on.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

#include "../job_kind.h"
#include "ml/generator.h"
#include "ml/lora.h"
#include "orchestrator/errors.h"
#include "orchestrator/model_files.h"
#include "orchestrator/workspace.h"
#include "provenance/generation_manifest.h"
#include "provenance/workspace_key.h"
#include "workers/catalog/kind_catalog.h"
#include "workers/generation/lora_syntax.h"
#include "workers/generation/model_cache.h"

namespace atelier {
namespace {

constexpr const char* kDefaultModel = "twemoji-base-32";

int64_t get_int(const json& p, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!p.contains(key) || p[key].is_null()) return fallback;
  const json& v = p[key];
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    throw InputError(std::string("generate: param '") + key + "' must be a whole number in " +
                     std::to_string(lo) + ".." + std::to_string(hi) + ", got " + v.dump());
  return v.get<int64_t>();
}

// `size` as 64, "64" or "64x64" (square only: the models are square).
int parse_size(const json& p) {
  if (!p.contains("size") || p["size"].is_null()) return 0;
  const json& v = p["size"];
  int w = 0, h = 0;
  if (v.is_number_integer()) {
    w = h = v.get<int>();
  } else if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (std::sscanf(s.c_str(), "%dx%d", &w, &h) != 2) {
      char* end = nullptr;
      w = h = static_cast<int>(std::strtol(s.c_str(), &end, 10));
      if (!end || *end) w = h = 0;
    }
  }
  if (w <= 0 || w != h)
    throw InputError("generate: param 'size' must be N or \"NxN\" (square), got " + v.dump());
  return w;
}

ml::GenerateRequest parse_request(const json& p) {
  ml::GenerateRequest r;
  if (!p.contains("prompt") || !p["prompt"].is_string())
    throw InputError("generate: param 'prompt' is required and must be text");
  r.prompt = p["prompt"].get<std::string>();
  if (p.contains("negative")) {
    if (!p["negative"].is_string()) throw InputError("generate: param 'negative' must be text");
    r.negative_prompt = p["negative"].get<std::string>();
  }
  r.count = static_cast<int>(get_int(p, "count", 1, 1, 1000));
  r.seed = get_int(p, "seed", 0, 0, (int64_t{1} << 53));
  r.steps = static_cast<int>(get_int(p, "steps", r.steps, 1, 1000));
  r.batch = static_cast<int>(get_int(p, "batch", 8, 1, 256));
  if (p.contains("cfg")) {
    if (!p["cfg"].is_number() || p["cfg"].get<double>() < 0 || p["cfg"].get<double>() > 50)
      throw InputError("generate: param 'cfg' must be a number in 0..50, got " + p["cfg"].dump());
    r.cfg = p["cfg"].get<double>();
  }
  if (p.contains("sampler")) {
    if (!p["sampler"].is_string()) throw InputError("generate: param 'sampler' must be text");
    try {
      r.sampler = ml::parse_sampler(p["sampler"].get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("generate: param 'sampler': ") + e.what());
    }
  }
  r.size = parse_size(p);
  return r;
}

// One LoRA to apply: from the prompt's <lora:...> tags or the `loras` param.
struct LoraRequest {
  json ref;  // a name, path or sha256, or a resolved ${stage.model} {sha256, path}
  double scale = 1.0;
  std::string label;  // for messages
};

std::vector<LoraRequest> lora_requests(const json& p, const ParsedPrompt& parsed) {
  std::vector<LoraRequest> out;
  for (const auto& l : parsed.loras) out.push_back({l.name, l.scale, "<lora:" + l.name + ">"});
  if (!p.contains("loras") || p["loras"].is_null()) return out;
  if (!p["loras"].is_array())
    throw InputError("generate: param 'loras' must be a list of {model, scale}");
  int i = 0;
  for (const json& item : p["loras"]) {
    const std::string where = "generate: param 'loras' item " + std::to_string(++i);
    LoraRequest r;
    r.label = "loras[" + std::to_string(i) + "]";
    if (item.is_string()) {
      r.ref = item;
    } else if (item.is_object() && item.contains("model")) {
      r.ref = item["model"];
      if (item.contains("scale")) {
        if (!item["scale"].is_number())
          throw InputError(where + ": 'scale' must be a number, got " + item["scale"].dump());
        r.scale = item["scale"].get<double>();
      }
      for (auto it = item.begin(); it != item.end(); ++it)
        if (it.key() != "model" && it.key() != "scale")
          throw InputError(where + ": unknown field '" + it.key() + "' (expected model, scale)");
    } else {
      throw InputError(where + ": expected a LoRA name or {model, scale}, got " + item.dump());
    }
    if (!(r.ref.is_string() || (r.ref.is_object() && r.ref.contains("path"))))
      throw InputError(where + ": 'model' must be a name, path, sha256 or ${stage.model}");
    if (!std::isfinite(r.scale) || std::abs(r.scale) > 10)
      throw InputError(where + ": 'scale' must be in -10..10");
    out.push_back(std::move(r));
  }
  return out;
}

class GenerateKind final : public JobKind {
 public:
  void run(JobContext& ctx) override {
    const json& p = ctx.params();
    auto req = parse_request(p);
    ParsedPrompt parsed;
    try {
      parsed = parse_prompt_loras(req.prompt);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("generate: param ") + e.what());
    }
    req.prompt = parsed.prompt;
    const auto lora_reqs = lora_requests(p, parsed);
    ModelLocation loc;
    if (p.contains("model") && p["model"].is_object() && p["model"].contains("path")) {
      loc.file = p["model"]["path"].get<std::string>();  // a resolved ${stage.model}
    } else {
      std::string model_ref = kDefaultModel;
      if (p.contains("model")) {
        if (!p["model"].is_string())
          throw InputError(
              "generate: param 'model' must be a name, path, sha256 or ${stage.model}");
        model_ref = p["model"].get<std::string>();
      }
      loc = locate_model(model_ref, ctx.config(), ctx.store(), ctx.assets());
    }
    std::shared_ptr<CachedModel> model;
    try {
      model = load_cached_model(loc.file);
    } catch (const std::exception& e) {
      throw InputError(std::string("generate: model: ") + e.what());
    }
    try {
      ml::validate_request(req, model->model->config);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("generate: param ") + e.what());
    }
    ctx.store().register_model(
        {model->sha256, "diffusion", model->name, json{{"format", ml::kModelFormat}}, std::nullopt,
         loc.row && loc.row->path ? loc.row->path : std::optional<std::string>(loc.file.string()),
         0});
    ctx.add_input(model->sha256, "model");

    std::vector<std::shared_ptr<CachedLora>> loras;
    std::vector<ml::LoraUse> uses;
    for (const auto& lr : lora_reqs) {
      std::filesystem::path file;
      std::optional<ModelRow> row;
      if (lr.ref.is_object()) {
        file = lr.ref["path"].get<std::string>();
      } else {
        auto l = locate_model(lr.ref.get<std::string>(), ctx.config(), ctx.store(), ctx.assets());
        file = l.file;
        row = l.row;
      }
      std::shared_ptr<CachedLora> lora;
      try {
        lora = load_cached_lora(file);
      } catch (const std::exception& e) {
        throw InputError("generate: LoRA " + lr.label + ": " + e.what());
      }
      ctx.store().register_model(
          {lora->sha256, "lora", lora->name, json{{"format", "kohya"}}, std::nullopt,
           row && row->path ? row->path : std::optional<std::string>(file.string()), 0});
      ctx.add_input(lora->sha256, "lora");
      uses.push_back({&lora->lora, lr.scale, lr.label + " (" + file.string() + ")"});
      loras.push_back(std::move(lora));
    }

    const KindSpec* spec = find_kind("generate");
    const int threads =
        std::max(1, std::min<int>(spec ? spec->threads : 1,
                                  static_cast<int>(std::thread::hardware_concurrency())));
    at::set_num_threads(threads);
    ctx.log().info("generate: {} image(s) of '{}' with {} ({}), {} steps, {} threads", req.count,
                   req.prompt, model->name, model->sha256.substr(0, 10), req.steps, threads);
    if (auto unknown = model->model->tokenizer.unknown_words(req.prompt); !unknown.empty()) {
      std::string list;
      for (const auto& w : unknown) list += (list.empty() ? "" : ", ") + w;
      ctx.log().warn("words the model does not know (ignored): {}", list);
    }
    std::vector<media::Image> images;
    {
      // Merged weights live only for this block; the cached model's own
      // tensors are never written (see ml/lora.h).
      std::optional<ml::AppliedLoras> applied;
      try {
        applied.emplace(model->model, uses);
      } catch (const std::invalid_argument& e) {
        throw InputError(std::string("generate: LoRA ") + e.what());
      }
      images = ml::generate(
          model->model, req, [&](double f) { ctx.progress(f, "sampling"); },
          [&] { ctx.check_cancelled(); });
    }

    provenance::GenerationFacts f;
    f.prompt = req.prompt;
    f.negative_prompt = req.negative_prompt;
    f.steps = req.steps;
    f.sampler = ml::sampler_display_name(req.sampler);
    f.libtorch = ml::torch_version();
    f.cfg = req.cfg;
    f.model_name = model->name;
    f.model_sha256 = model->sha256;
    for (size_t i = 0; i < loras.size(); ++i)
      f.loras.push_back({loras[i]->name, loras[i]->sha256, uses[i].multiplier});
    f.threads = threads;
    f.run_id = ctx.lease().run_id;
    f.job_id = ctx.job_id();
    f.stage = ctx.lease().stage;
    f.params = p;
    for (const auto& in : ctx.lineage())
      f.inputs.push_back({{"sha256", in.sha256}, {"role", in.role}});
    std::optional<provenance::KeyPair> key;  // no workspace folder (a bare test harness): unsigned
    if (!ctx.config().dir.empty())
      key = provenance::workspace_signing_key(ctx.config().dir, ctx.store());
    for (size_t i = 0; i < images.size(); ++i) {
      f.seed = req.seed + static_cast<int64_t>(i);
      f.width = images[i].width;
      f.height = images[i].height;
      const int first = static_cast<int>(i) / req.batch * req.batch;
      f.batch = std::min(req.batch, req.count - first);
      f.batch_index = static_cast<int>(i) - first;
      auto png =
          provenance::encode_generated_png(f, images[i], ctx.now_ms(), key ? &*key : nullptr);
      auto& out =
          ctx.write_output("image_" + std::to_string(i) + ".png",
                           std::string_view(reinterpret_cast<const char*>(png.data()), png.size()),
                           "image/png", "png");
      out.width = images[i].width;
      out.height = images[i].height;
    }
  }
};

}  // namespace

std::unique_ptr<JobKind> make_generate_kind() {
  return std::make_unique<GenerateKind>();
}

}  // namespace atelier
