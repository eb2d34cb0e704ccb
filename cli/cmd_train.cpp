// `atelier train-base`: trains the base text-to-image model in this process,
// printing progress; SIGINT/SIGTERM write a checkpoint and stop, and the same
// command resumes from it.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "ml/base_trainer.h"
#include "orchestrator/errors.h"

namespace atelier::cli {

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

std::string hms(double s) {
  const long t = static_cast<long>(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
  return buf;
}
}  // namespace

int cmd_train_base(const Globals& g, const TrainBaseArgs& a) {
  ml::TrainBaseOptions o;
  o.output = a.output;
  o.checkpoint_dir = a.checkpoints.empty()
                         ? std::filesystem::path(a.output).replace_extension(".ckpt")
                         : std::filesystem::path(a.checkpoints);
  o.model_name = std::filesystem::path(a.output).stem().string();
  o.steps = a.steps;
  o.batch = a.batch;
  o.lr = a.lr;
  o.seed = a.seed;
  o.threads = a.threads;
  o.limit_images = a.limit_images;
  o.checkpoint_every = a.checkpoint_every;
  o.fresh = a.fresh;
  o.command = a.command_line;
  if (!a.channels.empty()) {
    o.config.channels = a.channels;
    // cross-attention below the top level, self-attention at the lowest only
    o.config.attention.assign(a.channels.size(), true);
    o.config.attention[0] = false;
    o.config.self_attention.assign(a.channels.size(), false);
    o.config.self_attention.back() = true;
  }
  try {
    o.config.validate();
  } catch (const std::invalid_argument& e) {
    throw InputError(std::string("--channels: ") + e.what());
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::cerr << "training " << o.model_name << ": " << o.steps << " steps, batch " << o.batch
            << ", checkpoints in " << o.checkpoint_dir.string() << "\n";
  try {
    auto r = ml::train_base(
        o,
        [&](const ml::TrainProgress& p) {
          if (p.resumed) std::cerr << "resumed from checkpoint at step " << p.step - 1 << "\n";
          if (g.json) {
            std::cout << "{\"step\":" << p.step << ",\"steps\":" << p.steps
                      << ",\"loss\":" << p.loss << ",\"seconds_per_step\":" << p.seconds_per_step
                      << "}" << std::endl;
          } else {
            std::cerr << "step " << p.step << "/" << p.steps << "  loss " << p.loss << "  "
                      << p.seconds_per_step << " s/step  eta "
                      << hms(p.seconds_per_step * (p.steps - p.step)) << std::endl;
          }
        },
        [] { return g_stop != 0; });
    std::cerr << "done: " << r.steps << " steps on " << r.images << " images in " << hms(r.seconds)
              << "; model written to " << o.output.string() << "\n";
    return 0;
  } catch (const ml::TrainingInterrupted& e) {
    std::cerr << "atelier: " << e.what() << "; run the same command to resume\n";
    return 1;
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}

}  // namespace atelier::cli
