// The `train_base` kind: `atelier train-base` as a job. Checkpoints live in the
// workspace under checkpoints/j<job id>/, so a retried attempt (after its worker
// was killed, or after a cancel and retry) resumes from the last checkpoint
// instead of step 0. The finished model is stored as an asset, registered as a
// model produced by this job, and its training-image list is a second asset.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "../job_kind.h"
#include "ml/base_trainer.h"
#include "orchestrator/errors.h"
#include "workers/catalog/kind_catalog.h"

namespace atelier {
namespace {

namespace fs = std::filesystem;

class TrainBaseKind final : public JobKind {
 public:
  void run(JobContext& ctx) override {
    const json& p = ctx.params();
    ml::TrainBaseOptions o;
    o.model_name = p.value("name", std::string("twemoji-base-32"));
    o.style = p.value("style", std::string("twitter"));
    o.steps = p.value("steps", 5000);
    o.batch = p.value("batch", 32);
    o.lr = p.value("lr", 1e-3);
    o.seed = p.value("seed", uint64_t{0});
    o.checkpoint_every = p.value("checkpoint_every", 200);
    o.limit_images = p.value("limit_images", 0);
    o.bf16_convs = p.value("bf16_convs", false);
    if (p.contains("channels")) {
      try {
        o.config.channels = p["channels"].get<std::vector<int>>();
      } catch (const std::exception&) {
        throw InputError("train_base: param 'channels' must be a list of whole numbers");
      }
      o.config.attention.assign(o.config.channels.size(), true);
      o.config.attention[0] = false;
      o.config.self_attention.assign(o.config.channels.size(), false);
      o.config.self_attention.back() = true;
    }
    try {
      o.config.validate();
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("train_base: param ") + e.what());
    }
    const fs::path ws = ctx.config().dir.empty() ? fs::current_path() : fs::path(ctx.config().dir);
    o.checkpoint_dir = ws / "checkpoints" / ("j" + std::to_string(ctx.job_id()));
    o.output = o.checkpoint_dir / (o.model_name + ".safetensors");
    const KindSpec* spec = find_kind("train_base");
    o.threads = std::max(1, std::min<int>(spec ? spec->threads : 1,
                                          static_cast<int>(std::thread::hardware_concurrency())));
    o.command = "train_base job " + std::to_string(ctx.job_id()) + " " + p.dump();

    ctx.log().info("train_base: {} steps, batch {}, checkpoints in {}", o.steps, o.batch,
                   o.checkpoint_dir.string());
    ml::TrainResult r;
    try {
      r = ml::train_base(
          o,
          [&](const ml::TrainProgress& pr) {
            if (pr.resumed) ctx.log().info("resumed from the checkpoint at step {}", pr.step - 1);
            ctx.progress(static_cast<double>(pr.step) / pr.steps,
                         "step " + std::to_string(pr.step) + "/" + std::to_string(pr.steps));
            if (pr.step % 50 == 0 || pr.step == pr.steps)
              ctx.log().info("step {}/{} loss {:.5f} {:.3f} s/step", pr.step, pr.steps, pr.loss,
                             pr.seconds_per_step);
          },
          [&] { return ctx.cancelled(); });
    } catch (const ml::TrainingInterrupted& e) {
      ctx.log().info("{}", e.what());
      ctx.check_cancelled();  // throws with the reason
      throw;
    } catch (const std::invalid_argument& e) {
      throw InputError(std::string("train_base: ") + e.what());
    }
    auto& model = ctx.write_output_file(o.model_name + ".safetensors", o.output,
                                        "application/vnd.safetensors", "safetensors");
    const std::string sha = model.sha256;
    auto list = o.output;
    list.replace_extension(".training.json");
    ctx.write_output_file(o.model_name + ".training.json", list, "application/json", "json");
    ctx.store().register_model({sha, "diffusion", o.model_name,
                                json{{"steps", o.steps}, {"images", r.images}, {"style", o.style}},
                                ctx.job_id(), std::nullopt, 0});
    ctx.log().info("model {} ({}) trained on {} images", o.model_name, sha.substr(0, 10), r.images);
  }
};

}  // namespace

std::unique_ptr<JobKind> make_train_base_kind() {
  return std::make_unique<TrainBaseKind>();
}

}  // namespace atelier
