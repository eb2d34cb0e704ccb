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
#include "common/errors.h"
#include "common/text.h"
#include "kinds/train_lora.h"
#include "media/image_decode.h"
#include "ml/base_trainer.h"
#include "ml/image_tensor.h"
#include "ml/lora_trainer.h"
#include "orchestrator/model_files.h"
#include "workers/generation/model_cache.h"
#include "workers/training/train_options.h"

namespace atelier {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

bool is_image(const JobInput& in) {
  return in.media_type.rfind("image/", 0) == 0;
}
bool is_text(const JobInput& in) {
  return in.media_type.rfind("text/", 0) == 0;
}

class TrainLoraKind final : public JobKind {
 public:
  void check_params(const json& params) const override {
    train_lora_options(train_lora_kind().parse(params));
  }
  void run(JobContext& ctx) override {
    const TrainLoraParams p = train_lora_kind().parse(ctx.params());
    ml::TrainLoraOptions o = train_lora_options(p);
    const std::string name = p.name.value_or("lora-j" + std::to_string(ctx.job_id()));
    o.output_name = name;

    // The base model.
    fs::path base_file;
    if (p.model.is_object() && p.model.contains("path"))
      base_file = p.model["path"].get<std::string>();  // a resolved ${stage.model}
    else if (p.model.is_string())
      base_file = ctx.store().locate_model(p.model.get<std::string>()).file;
    else
      throw InputError("train_lora: param 'model' must be a name, path, sha256 or ${stage.model}");
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
        caption_of[src.sha256] = trim_whitespace(read_file(in.path));
        caption_sha_of[src.sha256] = in.sha256;
      }
    }

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
    o.threads = std::max(1, std::min<int>(train_lora_kind().spec().threads,
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
    ctx.register_model({sha, "lora", name,
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
