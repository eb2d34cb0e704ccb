// The base-model training loop; see base_trainer.h.
#include "ml/base_trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "ml/conv_precision.h"
#include "ml/diffusion_model.h"
#include "ml/emoji_dataset.h"
#include "ml/image_tensor.h"
#include "ml/safetensors.h"
#include "ml/tensor_io.h"
#include "ml/training_common.h"

namespace atelier::ml {

namespace fs = std::filesystem;

std::string sample_caption(const EmojiRecord& r, double dropout, uint64_t random) {
  std::mt19937_64 rng(random);
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng) < dropout) return "";
  const double x = u(rng);
  if (x < 0.45 || (x < 0.65 && r.short_names.empty())) return r.name;
  if (x < 0.65) return r.short_names[rng() % r.short_names.size()];
  if (x < 0.85) return r.name + ", " + r.subcategory;
  return r.name + ", " + r.category;
}

namespace {

struct Data {
  std::vector<EmojiRecord> records;          // training split only
  std::vector<std::vector<size_t>> by_base;  // record indices grouped by base emoji
  torch::Tensor images;                      // (N, 3, S, S)
};

Data load_data(const TrainBaseOptions& o) {
  const auto dir = o.package_dir.empty() ? emoji_package_dir(o.style) : o.package_dir;
  Data d;
  std::map<std::string, size_t> base_index;
  std::vector<torch::Tensor> imgs;
  for (auto& r : load_emoji_records(dir, o.style)) {
    if (r.held_out) continue;
    if (o.limit_images > 0 && static_cast<int>(d.records.size()) >= o.limit_images) break;
    imgs.push_back(load_image_tensor(r.image, o.config.image_size));
    auto [it, fresh] = base_index.emplace(r.base, d.by_base.size());
    if (fresh) d.by_base.emplace_back();
    d.by_base[it->second].push_back(d.records.size());
    d.records.push_back(std::move(r));
  }
  d.images = torch::stack(imgs);
  return d;
}

// The settings a checkpoint must agree with to be resumed.
std::string fingerprint(const TrainBaseOptions& o, const Data& d) {
  nlohmann::json j = {{"config", o.config.to_json()},
                      {"steps", o.steps},
                      {"batch", o.batch},
                      {"lr", o.lr},
                      {"warmup", o.warmup},
                      {"ema_decay", o.ema_decay},
                      {"caption_dropout", o.caption_dropout},
                      {"min_snr_gamma", o.min_snr_gamma},
                      {"seed", o.seed},
                      {"style", o.style},
                      {"images", d.records.size()}};
  if (o.bf16_convs) j["bf16_convs"] = true;  // absent when off: older checkpoints resume
  return j.dump();
}

void write_checkpoint(const fs::path& dir, int step, const std::string& fp, DiffusionModel& model,
                      DiffusionModel& ema, const AdamW& opt, double loss) {
  NamedTensors t;
  auto params = model->named_parameters();
  auto eparams = ema->named_parameters();
  size_t i = 0;
  for (auto& p : params) {
    t.emplace_back("model." + p.key(), p.value());
    t.emplace_back("ema." + p.key(), eparams[p.key()]);
    t.emplace_back("adam_m." + p.key(), opt.m[i]);
    t.emplace_back("adam_v." + p.key(), opt.v[i]);
    ++i;
  }
  nlohmann::json vocab = model->tokenizer.vocabulary();
  fs::create_directories(dir);
  save_tensors(dir / "checkpoint.safetensors", t,
               {{"atelier.checkpoint_step", std::to_string(step)},
                {"atelier.fingerprint", fp},
                {"atelier.config", model->config.to_json().dump()},
                {"atelier.vocab", vocab.dump()},
                {"atelier.loss", std::to_string(loss)}});
}

}  // namespace

TrainResult train_base(const TrainBaseOptions& o,
                       const std::function<void(const TrainProgress&)>& progress,
                       const std::function<bool()>& should_stop) {
  o.config.validate();
  if (o.steps < 1 || o.batch < 1) throw std::invalid_argument("steps and batch must be at least 1");
  if (o.bf16_convs && !cpu_has_native_bf16())
    throw std::invalid_argument(
        "bf16 convolutions: this CPU has no AVX-512 BF16 (they would be emulated, slower than "
        "float); train without them");
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(o.seed);

  Data data = load_data(o);
  std::vector<std::string> names;
  for (const auto& r : data.records) {
    names.push_back(r.name);
    names.push_back(r.subcategory + " " + r.category);
    for (const auto& s : r.short_names) names.push_back(s);
  }
  Tokenizer tok = Tokenizer::build(names);
  DiffusionModel model(o.config, tok);
  DiffusionModel ema(o.config, tok);
  copy_parameters(*ema, *model);
  ema->eval();
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  auto params = model->parameters();
  AdamW opt;
  opt.init(params);
  const std::string fp = fingerprint(o, data);

  int start = 0;
  const auto ckpt = o.checkpoint_dir / "checkpoint.safetensors";
  bool resumed = false;
  if (!o.fresh && fs::exists(ckpt)) {
    auto f = SafetensorsFile::read(ckpt);
    const auto& md = f.metadata();
    auto it = md.find("atelier.fingerprint");
    if (it == md.end() || it->second != fp)
      throw std::invalid_argument(
          ckpt.string() + ": made with different settings or data; pass --fresh to start over");
    if (md.at("atelier.vocab") != nlohmann::json(tok.vocabulary()).dump())
      throw std::invalid_argument(ckpt.string() +
                                  ": vocabulary differs; pass --fresh to start over");
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& info : f.tensors())
      tensors[info.name] = to_float_tensor(f, info, ckpt.string());
    torch::NoGradGuard g;
    size_t i = 0;
    for (auto& p : model->named_parameters()) {
      auto get = [&](const std::string& k) -> torch::Tensor& {
        auto t = tensors.find(k);
        if (t == tensors.end())
          throw FormatError(ckpt.string() + ": tensor '" + k + "' is missing");
        return t->second;
      };
      p.value().copy_(get("model." + p.key()));
      ema->named_parameters()[p.key()].copy_(get("ema." + p.key()));
      opt.m[i].copy_(get("adam_m." + p.key()));
      opt.v[i].copy_(get("adam_v." + p.key()));
      ++i;
    }
    start = std::stoi(md.at("atelier.checkpoint_step"));
    resumed = true;
  }

  model->train();
  const DiffusionLoss diffusion_loss(model, o.min_snr_gamma);

  TrainResult result;
  result.images = static_cast<int>(data.records.size());
  const auto t0 = std::chrono::steady_clock::now();
  auto window_start = t0;
  double window_loss = 0;
  int window_n = 0;
  for (int step = start; step < o.steps; ++step) {
    if (should_stop && should_stop()) {
      write_checkpoint(o.checkpoint_dir, step, fp, model, ema, opt,
                       window_n ? window_loss / window_n : 0);
      throw TrainingInterrupted("training stopped at step " + std::to_string(step) +
                                "; checkpoint written to " + ckpt.string());
    }
    const uint64_t step_seed = mix_seed(o.seed, static_cast<uint64_t>(step));
    std::mt19937_64 rng(step_seed);
    std::vector<int64_t> idx;
    std::vector<std::string> captions;
    for (int b = 0; b < o.batch; ++b) {
      const auto& group = data.by_base[rng() % data.by_base.size()];
      const size_t ri = group[rng() % group.size()];
      idx.push_back(static_cast<int64_t>(ri));
      captions.push_back(sample_caption(data.records[ri], o.caption_dropout, rng()));
    }
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(step_seed, 1));
    auto x0 = data.images.index_select(0, torch::tensor(idx));
    const BF16Convolutions precision(o.bf16_convs);
    auto loss = diffusion_loss(model, x0, captions, gen);
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    opt.step(params, warmup_cosine_lr(o.lr, o.warmup, o.steps, step), step + 1);
    {
      torch::NoGradGuard g;
      const double d = std::min(o.ema_decay, (1.0 + step) / (10.0 + step));
      auto ep = ema->parameters();
      for (size_t i = 0; i < params.size(); ++i) ep[i].mul_(d).add_(params[i].detach(), 1 - d);
    }
    const double lv = loss.item<double>();
    window_loss += lv;
    ++window_n;
    result.final_loss = lv;
    const bool last = step + 1 == o.steps;
    if ((step + 1) % o.checkpoint_every == 0 || last)
      write_checkpoint(o.checkpoint_dir, step + 1, fp, model, ema, opt, window_loss / window_n);
    if ((step + 1) % 10 == 0 || last || resumed) {
      const auto now = std::chrono::steady_clock::now();
      TrainProgress p;
      p.step = step + 1;
      p.steps = o.steps;
      p.loss = window_loss / window_n;
      p.seconds_per_step = std::chrono::duration<double>(now - window_start).count() / window_n;
      p.resumed = resumed;
      if (progress) progress(p);
      window_start = now;
      window_loss = 0;
      window_n = 0;
      resumed = false;
    }
  }
  result.steps = o.steps;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // The shipped model: EMA weights plus what an auditor needs to trace it.
  nlohmann::json train_list = nlohmann::json::array();
  for (const auto& r : data.records)
    train_list.push_back({{"unified", r.unified},
                          {"file", r.image.filename().string()},
                          {"sha256", sha256_file_hex(r.image)}});
  std::map<std::string, std::string> md = {
      {"atelier.name", o.model_name},
      {"atelier.dataset", "emoji-datasource-" + o.style + "@16.0.0"},
      {"atelier.training_steps", std::to_string(o.steps)},
      {"atelier.training_settings", fp},
      {"atelier.training_images", std::to_string(data.records.size())},
      {"atelier.command", o.command}};
  if (!o.output.parent_path().empty()) fs::create_directories(o.output.parent_path());
  save_model(o.output, ema, md);
  auto list_path = o.output;
  list_path.replace_extension(".training.json");
  // `style` names the dataset the files are in: the copyright check reads them back
  // from the datasets cache to look for memorised training images.
  std::ofstream(list_path) << nlohmann::json{{"model", o.model_name},
                                             {"style", o.style},
                                             {"images", train_list}}
                                  .dump(1)
                           << "\n";
  return result;
}

}  // namespace atelier::ml
