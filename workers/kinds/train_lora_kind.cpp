// The `train_lora` kind: a LoRA for the base model from captioned images.
// Inputs are the job's image assets and, optionally, caption assets made from
// them (a `caption` stage: each caption records its image in asset_sources).
// An image without a caption trains on the trigger word alone. Images that
// cannot be decoded are skipped and listed in the report; none usable fails the
// job. Checkpoints live in <workspace>/checkpoints/j<job id>/, so a retried
// attempt resumes from the last one. Outputs: the LoRA (kohya layout, ss_*
// metadata), registered as a model whose sources are every image and caption,
// and report.json (images used, skipped, tag frequency, loss).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "../job_kind.h"
#include "media/image_decode.h"
#include "ml/base_trainer.h"
#include "ml/image_tensor.h"
#include "ml/lora_trainer.h"
#include "orchestrator/errors.h"
#include "orchestrator/model_files.h"
#include "workers/catalog/kind_catalog.h"
#include "workers/generation/model_cache.h"

namespace atelier {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

template <typename T>
T param(const json& p, const char* key, T fallback, T lo, T hi) {
  if (!p.contains(key) || p[key].is_null()) return fallback;
  const json& v = p[key];
  const bool ok = std::is_integral_v<T> ? v.is_number_integer() : v.is_number();
  if (!ok || v.get<T>() < lo || v.get<T>() > hi)
    throw InputError(std::string("train_lora: param '") + key + "' must be " +
                     (std::is_integral_v<T> ? "a whole number" : "a number") + " in " +
                     std::to_string(lo) + ".." + std::to_string(hi) + ", got " + v.dump());
  return v.get<T>();
}

bool is_image(const JobInput& in) {
  return in.media_type.rfind("image/", 0) == 0;
}
bool is_text(const JobInput& in) {
  return in.media_type.rfind("text/", 0) == 0;
}

class TrainLoraKind final : public JobKind {
 public:
  void run(JobContext& ctx) override {
    const json& p = ctx.params();
    ml::TrainLoraOptions o;
    o.rank = param(p, "rank", 8, 1, 256);
    o.alpha = param(p, "alpha", static_cast<double>(o.rank), 1e-6, 1e6);
    o.steps = param(p, "steps", 400, 1, 1000000);
    o.lr = param(p, "lr", 1e-3, 1e-7, 1.0);
    o.batch = param(p, "batch", 8, 1, 1024);
    o.caption_dropout = param(p, "caption_dropout", 0.05, 0.0, 1.0);
    o.keep_tags = param(p, "keep_tags", 1, 0, 1000);
    o.checkpoint_every = param(p, "checkpoint_every", 50, 1, 1000000);
    o.seed = static_cast<uint64_t>(param<int64_t>(p, "seed", 0, 0, int64_t{1} << 53));
    o.shuffle_tags = p.value("shuffle_tags", false);
    o.convs = p.value("conv", false);
    o.trigger = trim(p.value("trigger", std::string()));
    if (o.trigger.find(',') != std::string::npos)
      throw InputError("train_lora: param 'trigger' must not contain a comma");
    const std::string name = p.value("name", "lora-j" + std::to_string(ctx.job_id()));
    o.output_name = name;

    // The base model.
    const std::string base_ref = p.contains("model") && p["model"].is_string()
                                     ? p["model"].get<std::string>()
                                     : std::string("twemoji-base-32");
    fs::path base_file;
    if (p.contains("model") && p["model"].is_object() && p["model"].contains("path"))
      base_file = p["model"]["path"].get<std::string>();
    else
      base_file = locate_model(base_ref, ctx.config(), ctx.store(), ctx.assets()).file;
    std::shared_ptr<CachedModel> base;
    try {
      base = load_cached_model(base_file);
    } catch (const std::exception& e) {
      throw InputError(std::string("train_lora: base model: ") + e.what());
    }
    const std::string base_sha = base->sha256;
    ctx.add_input(base_sha, "base_model");

    // Images and their captions.
    std::map<std::string, std::string> caption_of;  // image sha -> caption text
    std::map<std::string, std::string> caption_sha_of;
    for (const auto& in : ctx.inputs()) {
      if (!is_text(in)) continue;
      for (const auto& src : ctx.store().asset_sources(in.sha256)) {
        caption_of[src.sha256] = trim(read_file(in.path));
        caption_sha_of[src.sha256] = in.sha256;
      }
    }
    const KindSpec* spec = find_kind("train_lora");
    const int size = base->model->config.image_size;
    std::vector<ml::LoraExample> data;
    std::vector<InputRef> sources;
    json used = json::array(), skipped = json::array();
    std::set<std::string> seen;
    for (const auto& in : ctx.inputs()) {
      if (!is_image(in) || !seen.insert(in.sha256).second) continue;
      try {
        auto img = media::read_image(in.path);
        ml::LoraExample e;
        e.image = ml::fit_image_tensor(img, size);
        e.caption = caption_of.count(in.sha256) ? caption_of[in.sha256] : "";
        e.sha256 = in.sha256;
        used.push_back({{"sha256", in.sha256},
                        {"caption", e.caption},
                        {"width", img.width},
                        {"height", img.height}});
        sources.push_back({in.sha256, "training_image"});
        if (caption_sha_of.count(in.sha256))
          sources.push_back({caption_sha_of[in.sha256], "caption"});
        data.push_back(std::move(e));
      } catch (const std::exception& e) {
        ctx.log().warn("skipping {}: {}", in.path, e.what());
        skipped.push_back({{"sha256", in.sha256}, {"error", e.what()}});
      }
    }
    if (data.empty())
      throw InputError(
          "train_lora: no usable training images (" + std::to_string(skipped.size()) +
          " input(s) could not be read" +
          (skipped.empty() ? "" : ", first: " + skipped[0]["error"].get<std::string>()) + ")");

    const fs::path ws = ctx.config().dir.empty() ? fs::current_path() : fs::path(ctx.config().dir);
    o.checkpoint_dir = ws / "checkpoints" / ("j" + std::to_string(ctx.job_id()));
    o.threads = std::max(1, std::min<int>(spec ? spec->threads : 1,
                                          static_cast<int>(std::thread::hardware_concurrency())));
    ctx.log().info("train_lora: {} image(s) ({} skipped), rank {}, alpha {}, {} steps, batch {}",
                   data.size(), skipped.size(), o.rank, o.alpha, o.steps, o.batch);
    ml::LoraTrainResult r;
    try {
      r = ml::train_lora(
          base_file, base_sha, data, o,
          [&](const ml::LoraTrainProgress& pr) {
            if (pr.resumed_from >= 0)
              ctx.log().info("resumed from the checkpoint at step {}", pr.resumed_from);
            ctx.progress(static_cast<double>(pr.step) / pr.steps,
                         "step " + std::to_string(pr.step) + "/" + std::to_string(pr.steps));
            if (pr.step % 25 == 0 || pr.step == pr.steps)
              ctx.log().info("step {}/{} loss {:.5f} {:.3f} s/step", pr.step, pr.steps, pr.loss,
                             pr.seconds_per_step);
          },
          [&] { return ctx.cancelled(); });
    } catch (const ml::TrainingInterrupted& e) {
      ctx.log().info("{}", e.what());
      ctx.check_cancelled();
      throw;
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("train_lora: ") + e.what());
    }

    const auto file = o.checkpoint_dir / (name + ".safetensors");
    ml::save_lora(file, r.lora);
    auto& out = ctx.write_output_file(name + ".safetensors", file, "application/vnd.safetensors",
                                      "safetensors");
    out.sources = sources;
    const std::string sha = out.sha256;
    json freq = json::object();
    for (const auto& [tag, n] : r.tag_frequency) freq[tag] = n;
    json report = {{"lora", {{"name", name}, {"sha256", sha}}},
                   {"base_model", base_sha},
                   {"steps", r.steps},
                   {"resumed_from", r.resumed_from},
                   {"final_loss", r.final_loss},
                   {"seconds", r.seconds},
                   {"images", used},
                   {"skipped", skipped},
                   {"tag_frequency", freq}};
    ctx.write_output("report.json", report.dump(1) + "\n", "application/json", "json");
    ctx.store().register_model({sha, "lora", name,
                                json{{"rank", o.rank},
                                     {"alpha", o.alpha},
                                     {"steps", o.steps},
                                     {"trigger", o.trigger},
                                     {"base_model", base_sha},
                                     {"images", data.size()}},
                                ctx.job_id(), std::nullopt, 0});
    ctx.log().info("LoRA {} ({}) trained on {} images{}", name, sha.substr(0, 10), data.size(),
                   r.resumed_from > 0
                       ? " (resumed from step " + std::to_string(r.resumed_from) + ")"
                       : std::string());
  }
};

}  // namespace

std::unique_ptr<JobKind> make_train_lora_kind() {
  return std::make_unique<TrainLoraKind>();
}

}  // namespace atelier
