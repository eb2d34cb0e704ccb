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
#include "common/errors.h"
#include "kinds/generate.h"
#include "media/image_decode.h"
#include "ml/generator.h"
#include "ml/lora.h"
#include "orchestrator/model_files.h"
#include "orchestrator/workspace.h"
#include "provenance/generation_manifest.h"
#include "workers/generation/generate_request.h"
#include "workers/generation/lora_syntax.h"
#include "workers/generation/model_cache.h"
#include "workers/generation/sd_generation.h"

namespace atelier {
namespace {

// One LoRA to apply: from the prompt's <lora:...> tags or the `loras` param.
struct LoraRequest {
  json ref;  // a name, path or sha256, or a resolved ${stage.model} {sha256, path}
  double scale = 1.0;
  std::string label;  // for messages
};

std::vector<LoraRequest> lora_requests(const json& loras, const ParsedPrompt& parsed) {
  std::vector<LoraRequest> out;
  for (const auto& l : parsed.loras) out.push_back({l.name, l.scale, "<lora:" + l.name + ">"});
  if (loras.is_null()) return out;
  int i = 0;
  for (const json& item : loras) {
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

std::string model_label(const ModelLocation& loc) {
  return loc.file.filename().string();
}

class GenerateKind final : public JobKind {
 public:
  void check_params(const json& params) const override { parsed(params); }
  struct Parsed {
    GenerateParams gp;
    ml::GenerateRequest req;
    std::vector<LoraRequest> loras;
  };
  static Parsed parsed(const json& p) {
    Parsed out{generate_kind().parse(p), {}, {}};
    out.req = generate_request(out.gp);
    ParsedPrompt prompt;
    try {
      prompt = parse_prompt_loras(out.req.prompt);
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("generate: param ") + e.what());
    }
    out.req.prompt = prompt.prompt;
    out.loras = lora_requests(out.gp.loras, prompt);
    return out;
  }

  void run(JobContext& ctx) override {
    const json& p = ctx.params();
    Parsed all = parsed(p);
    const GenerateParams& gp = all.gp;
    auto& req = all.req;
    const auto& lora_reqs = all.loras;
    ModelLocation loc;
    if (gp.model.is_object() && gp.model.contains("path")) {
      loc.file = gp.model["path"].get<std::string>();  // a resolved ${stage.model}
    } else {
      if (!gp.model.is_string())
        throw InputError("generate: param 'model' must be a name, path, sha256 or ${stage.model}");
      loc = ctx.store().locate_model(gp.model.get<std::string>());
    }
    if (!is_atelier_model_file(loc.file)) return run_sd(ctx, all, loc);
    if (!gp.init_image.is_null() || p.contains("strength"))
      throw InputError(
          "generate: img2img (init_image, strength) needs a Stable Diffusion "
          "checkpoint; " +
          model_label(loc) + " is one of Atelier's own models");
    require_square_size(gp.size);
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
    ctx.register_model(
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
        auto l = ctx.store().locate_model(lr.ref.get<std::string>());
        file = l.file;
        row = l.row;
      }
      std::shared_ptr<CachedLora> lora;
      try {
        lora = load_cached_lora(file);
      } catch (const std::exception& e) {
        throw InputError("generate: LoRA " + lr.label + ": " + e.what());
      }
      ctx.register_model({lora->sha256, "lora", lora->name, json{{"format", "kohya"}}, std::nullopt,
                          row && row->path ? row->path : std::optional<std::string>(file.string()),
                          0});
      ctx.add_input(lora->sha256, "lora");
      uses.push_back({&lora->lora, lr.scale, lr.label + " (" + file.string() + ")"});
      loras.push_back(std::move(lora));
    }

    const int threads =
        std::max(1, std::min<int>(generate_kind().spec().threads,
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
    f.sampler = ml::sampler_choice_name({req.sampler, req.grid});
    f.libtorch = ml::torch_version();
    f.cfg = req.cfg;
    f.model_name = model->name;
    f.model_sha256 = model->sha256;
    for (size_t i = 0; i < loras.size(); ++i)
      f.loras.push_back({loras[i]->name, loras[i]->sha256, uses[i].multiplier});
    f.threads = threads;
    write_images(ctx, std::move(f), images, req.seed, req.batch);
  }

  // A Stable Diffusion checkpoint (ml/sd/): the model is registered by sha256
  // with its family, and every file it reads is judged by the spec's scope.
  void run_sd(JobContext& ctx, const Parsed& all, const ModelLocation& loc) {
    const FileScope scope = ctx.store().file_scope();
    const int threads =
        std::max(1, std::min<int>(generate_kind().spec().threads,
                                  static_cast<int>(std::thread::hardware_concurrency())));
    GenerateParams gp = all.gp;
    gp.prompt = all.req.prompt;  // <lora:...> tags taken out
    // img2img: init_image given, or strength given with one upstream image.
    std::optional<media::Image> init;
    if (!gp.init_image.is_null() || ctx.params().contains("strength")) {
      std::vector<const JobInput*> images;
      for (const JobInput& in : ctx.inputs())
        if (in.media_type.rfind("image/", 0) == 0) images.push_back(&in);
      if (images.size() != 1)
        throw InputError("generate: img2img needs exactly one image input, found " +
                         std::to_string(images.size()) +
                         " (use for_each to draw from each of several)");
      try {
        init = media::read_image(images[0]->path);
      } catch (const std::exception& e) {
        throw InputError(std::string("generate: param 'init_image': ") + e.what());
      }
    }
    std::vector<SdLoraFile> lora_files;
    std::vector<std::optional<std::string>> lora_paths;  // as registered
    for (const auto& lr : all.loras) {
      SdLoraFile lf{{}, lr.scale, lr.label};
      std::optional<ModelRow> row;
      if (lr.ref.is_object()) {
        lf.file = lr.ref["path"].get<std::string>();
      } else {
        auto l = ctx.store().locate_model(lr.ref.get<std::string>());
        lf.file = l.file;
        row = l.row;
      }
      lora_paths.push_back(row && row->path ? row->path
                                            : std::optional<std::string>(lf.file.string()));
      lf.label += " (" + lf.file.string() + ")";
      lora_files.push_back(std::move(lf));
    }
    SdGeneration g = generate_with_sd(
        gp, ctx.params(), loc.file, init ? &*init : nullptr, lora_files, threads,
        [&](const std::filesystem::path& p, std::string_view what) {
          return scope.check_read(p, what);
        },
        [&](double f) { ctx.progress(f, "sampling"); }, [&] { ctx.check_cancelled(); });
    for (const auto& w : g.warnings) ctx.log().warn("{}", w);
    ctx.register_model(
        {g.facts.model_sha256, "diffusion", g.facts.model_name,
         json{{"format", "stable-diffusion"}, {"arch", g.arch}, {"prediction", g.prediction}},
         std::nullopt,
         loc.row && loc.row->path ? loc.row->path : std::optional<std::string>(loc.file.string()),
         0});
    ctx.add_input(g.facts.model_sha256, "model");
    for (size_t i = 0; i < g.facts.loras.size(); ++i) {
      const auto& l = g.facts.loras[i];
      ctx.register_model({l.sha256, "lora", l.name,
                          json{{"format", "kohya"}, {"arch", g.arch}, {"a1111_hash", l.a1111_hash}},
                          std::nullopt, lora_paths[i], 0});
      ctx.add_input(l.sha256, "lora");
    }
    ctx.log().info("generate: {} image(s) of '{}' with {} ({}, {}), {} steps of {}",
                   g.images.size(), all.gp.prompt, g.facts.model_name, g.arch,
                   g.facts.model_sha256.substr(0, 10), g.facts.steps, g.facts.sampler);
    write_images(ctx, g.facts, g.images, g.seed, 1);
  }

  // One PNG asset per image, with infotext and the signed manifest.
  static void write_images(JobContext& ctx, provenance::GenerationFacts f,
                           const std::vector<media::Image>& images, int64_t seed, int batch) {
    f.run_id = ctx.lease().run_id;
    f.job_id = ctx.job_id();
    f.stage = ctx.lease().stage;
    f.params = ctx.params();
    for (const auto& in : ctx.lineage())
      f.inputs.push_back({{"sha256", in.sha256}, {"role", in.role}});
    // No workspace folder (a bare test harness): unsigned.
    const std::optional<provenance::KeyPair> key = ctx.store().signing_key();
    const int count = static_cast<int>(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
      f.seed = seed + static_cast<int64_t>(i);
      f.width = images[i].width;
      f.height = images[i].height;
      const int first = static_cast<int>(i) / batch * batch;
      f.batch = std::min(batch, count - first);
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
