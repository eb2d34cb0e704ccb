// The `train_base` kind: `atelier train-base` as a job. Checkpoints live in the
// workspace under checkpoints/j<job id>/, so a retried attempt (after its worker
// was killed, or after a cancel and retry) resumes from the last checkpoint
// instead of step 0. The finished model is stored as an asset, registered as a
// model produced by this job, and its training-image list is a second asset.
#include <algorithm>
#include <filesystem>
#include <thread>

#include "../job_kind.h"
#include "common/errors.h"
#include "kinds/train_base.h"
#include "ml/base_trainer.h"
#include "workers/training/train_options.h"

namespace atelier {
namespace {

namespace fs = std::filesystem;

class TrainBaseKind final : public JobKind {
 public:
  void check_params(const json& params) const override {
    train_base_options(train_base_kind().parse(params));
  }
  void run(JobContext& ctx) override {
    const TrainBaseParams p = train_base_kind().parse(ctx.params());
    ml::TrainBaseOptions o = train_base_options(p);
    const fs::path ws = ctx.config().dir.empty() ? fs::current_path() : fs::path(ctx.config().dir);
    o.checkpoint_dir = ws / "checkpoints" / ("j" + std::to_string(ctx.job_id()));
    o.output = o.checkpoint_dir / (o.model_name + ".safetensors");

    o.threads = std::max(1, std::min<int>(train_base_kind().spec().threads,
                                          static_cast<int>(std::thread::hardware_concurrency())));
    o.command = "train_base job " + std::to_string(ctx.job_id()) + " " + ctx.params().dump();

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
    ctx.register_model({sha, "diffusion", o.model_name,
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
