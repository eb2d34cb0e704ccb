// `atelier train-base`, `train-captioner` and `train-lora`: train the base
// text-to-image model, the captioner or a LoRA in this process, printing
// progress; SIGINT/SIGTERM stop at a checkpoint, and the same command resumes.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "media/image_decode.h"
#include "ml/base_trainer.h"
#include "ml/captioner_trainer.h"
#include "ml/image_tensor.h"
#include "ml/lora_trainer.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/config.h"
#include "orchestrator/model_files.h"
#include "workers/generation/model_cache.h"
#include "workers/training/train_options.h"

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

// Where a training writes (train-base and train-captioner alike).
template <class Options>
void output_options(Options& o, const std::string& output, const std::string& checkpoints,
                    bool fresh, const std::string& command_line) {
  o.output = output;
  o.checkpoint_dir = checkpoints.empty() ? std::filesystem::path(output).replace_extension(".ckpt")
                                         : std::filesystem::path(checkpoints);
  o.model_name = std::filesystem::path(output).stem().string();
  o.fresh = fresh;
  o.command = command_line;
}

// Runs a training with SIGINT/SIGTERM asking it to stop at its next checkpoint;
// an interruption exits 1 with how to resume, bad settings are input errors.
int run_training(const std::function<void()>& train) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    train();
    return 0;
  } catch (const ml::TrainingInterrupted& e) {
    std::cerr << "atelier: " << e.what() << "; run the same command to resume\n";
    return 1;
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}
}  // namespace

int cmd_train_base(const Globals& g, const TrainBaseArgs& a) {
  const TrainBaseParams& p = a.params;
  ml::TrainBaseOptions o = train_base_options(p);
  output_options(o, a.output.empty() ? "models/" + p.name + ".safetensors" : a.output,
                 a.checkpoints, a.fresh, a.command_line);
  if (a.named) o.model_name = p.name;
  o.threads = a.threads;
  std::cerr << "training " << o.model_name << ": " << o.steps << " steps, batch " << o.batch
            << ", checkpoints in " << o.checkpoint_dir.string() << "\n";
  return run_training([&] {
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
  });
}

namespace {
void print_evals(const Globals& g, const std::vector<ml::CaptionerEval>& evals) {
  for (const auto& e : evals) {
    if (g.json) {
      std::cout << e.to_json().dump() << std::endl;
    } else {
      std::cerr << "held-out " << e.style << " base emoji (" << e.images << "): category "
                << e.category_accuracy * 100 << "%, name-word recall@5 " << e.word_recall_at_5 * 100
                << "%, tag precision@5 " << e.tag_precision_at_5 * 100 << "%\n";
    }
  }
}
}  // namespace

int cmd_eval_captioner(const Globals& g, const std::string& model) {
  const auto path = find_model_file(model, "captioner");
  ml::LoadedCaptioner loaded;
  try {
    loaded = ml::load_captioner(path);
  } catch (const std::exception& e) {
    throw InputError(e.what());  // a bad model file is bad input, as for generate
  }
  const auto evals = ml::evaluate_held_out(loaded.model);
  if (evals.empty())
    throw InputError("no emoji image set in the datasets cache (scripts/setup.sh fetches them)");
  print_evals(g, evals);
  return 0;
}

int cmd_train_captioner(const Globals& g, const TrainCaptionerArgs& a) {
  ml::TrainCaptionerOptions o;
  output_options(o, a.output, a.checkpoints, a.fresh, a.command_line);
  o.batch = a.batch;
  o.lr = a.lr;
  o.seed = a.seed;
  o.threads = a.threads;
  o.limit_images = a.limit_images;
  o.epochs = a.epochs;
  o.styles = a.styles;
  o.width = a.width;
  std::cerr << "training " << o.model_name << ": " << o.epochs << " epochs, batch " << o.batch
            << ", checkpoints in " << o.checkpoint_dir.string() << "\n";
  return run_training([&] {
    auto r = ml::train_captioner(
        o,
        [&](const ml::CaptionerProgress& p) {
          if (p.resumed) std::cerr << "resumed from the checkpoint\n";
          if (g.json) {
            std::cout << "{\"epoch\":" << p.epoch << ",\"epochs\":" << p.epochs
                      << ",\"loss\":" << p.loss << ",\"seconds\":" << p.seconds << "}" << std::endl;
          } else {
            std::cerr << "epoch " << p.epoch << "/" << p.epochs << "  loss " << p.loss << "  "
                      << p.seconds << " s" << std::endl;
          }
        },
        [] { return g_stop != 0; });
    std::cerr << "done: " << r.epochs << " epochs on " << r.images << " images (" << r.base_emoji
              << " emoji, " << r.tags << " tags) in " << hms(r.seconds) << "; written to "
              << o.output.string() << "\n";
    print_evals(g, r.evals);
  });
}

int cmd_train_lora(const Globals& g, const TrainLoraArgs& a) {
  namespace fs = std::filesystem;
  const TrainLoraParams& p = a.params;
  if (!p.model.is_string()) throw InputError("--model: expected a model name or file");
  if (!p.images.is_string()) throw InputError("--images: expected a folder");
  const std::string images = p.images.get<std::string>();
  const fs::path base = find_model_file(p.model.get<std::string>(), "--model:");
  std::shared_ptr<CachedModel> m;
  try {
    m = load_cached_model(base);
  } catch (const std::exception& e) {
    throw InputError(e.what());
  }
  if (!fs::is_directory(images)) throw InputError("--images: " + images + " is not a folder");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(images))
    if (e.is_regular_file() && e.path().extension() != ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<ml::LoraExample> data;
  int skipped = 0;
  for (const auto& f : files) {
    try {
      ml::LoraExample ex;
      ex.image = ml::fit_image_tensor(media::read_image(f), m->model->config.image_size);
      auto txt = f;
      txt.replace_extension(".txt");
      if (fs::exists(txt)) {
        std::ifstream in(txt);
        std::getline(in, ex.caption);
      }
      ex.sha256 = sha256_file(f);
      data.push_back(std::move(ex));
    } catch (const std::exception& e) {
      std::cerr << "skipping " << f.string() << ": " << e.what() << "\n";
      ++skipped;
    }
  }
  if (data.empty()) throw InputError("--images: no readable image in " + images);
  ml::TrainLoraOptions o = train_lora_options(p);
  o.threads = a.threads;
  o.fresh = a.fresh;
  o.output_name = p.name.value_or(fs::path(a.output).stem().string());
  o.checkpoint_dir = a.checkpoints.empty() ? fs::path(a.output).replace_extension(".ckpt")
                                           : fs::path(a.checkpoints);
  std::cerr << "training LoRA " << o.output_name << " on " << data.size() << " images (" << skipped
            << " skipped): rank " << o.rank << ", alpha " << o.alpha << ", " << o.steps
            << " steps, batch " << o.batch << "\n";
  return run_training([&] {
    auto r = ml::train_lora(
        base, m->sha256, data, o,
        [&](const ml::LoraTrainProgress& p) {
          if (p.resumed_from >= 0) std::cerr << "resumed from step " << p.resumed_from << "\n";
          if (g.json) {
            std::cout << "{\"step\":" << p.step << ",\"steps\":" << p.steps
                      << ",\"loss\":" << p.loss << ",\"seconds_per_step\":" << p.seconds_per_step
                      << "}" << std::endl;
          } else if (p.step % 25 == 0 || p.step == p.steps) {
            std::cerr << "step " << p.step << "/" << p.steps << "  loss " << p.loss << "  "
                      << p.seconds_per_step << " s/step" << std::endl;
          }
        },
        [] { return g_stop != 0; });
    if (!fs::path(a.output).parent_path().empty())
      fs::create_directories(fs::path(a.output).parent_path());
    ml::save_lora(a.output, r.lora);
    std::cerr << "done: " << r.steps << " steps in " << hms(r.seconds) << " ("
              << (r.steps - r.resumed_from) / std::max(1e-9, r.seconds) << " steps/s); written to "
              << a.output << "\n";
  });
}

}  // namespace atelier::cli
