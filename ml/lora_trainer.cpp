// The LoRA training loop; see lora_trainer.h.
#include "ml/lora_trainer.h"

#include "ml/row_parallel.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "ml/base_trainer.h"
#include "ml/row_parallel.h"
#include "ml/safetensors.h"
#include "ml/tensor_io.h"
#include "ml/training_common.h"

namespace atelier::ml {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> split_tags(const std::string& caption) {
  std::vector<std::string> out;
  std::stringstream ss(caption);
  std::string tag;
  while (std::getline(ss, tag, ',')) {
    const auto b = tag.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) continue;
    const auto e = tag.find_last_not_of(" \t\r\n");
    out.push_back(tag.substr(b, e - b + 1));
  }
  return out;
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) out += (out.empty() ? "" : ", ") + t;
  return out;
}

std::vector<std::string> tags_with_trigger(const std::string& caption, const std::string& trigger) {
  auto tags = split_tags(caption);
  if (!trigger.empty() && (tags.empty() || tags[0] != trigger)) tags.insert(tags.begin(), trigger);
  return tags;
}

int effective_warmup(const TrainLoraOptions& o) {
  return o.warmup >= 0 ? o.warmup : std::min(50, o.steps / 10);
}

// The settings and data a checkpoint must agree with to be resumed.
std::string fingerprint(const TrainLoraOptions& o, const std::string& base_sha256,
                        const std::vector<LoraExample>& data) {
  nlohmann::json images = nlohmann::json::array();
  for (const auto& e : data) images.push_back({e.sha256, e.caption});
  return nlohmann::json{{"base", base_sha256},
                        {"rank", o.rank},
                        {"alpha", o.alpha},
                        {"lr", o.lr},
                        {"steps", o.steps},
                        {"batch", o.batch},
                        {"warmup", effective_warmup(o)},
                        {"caption_dropout", o.caption_dropout},
                        {"shuffle_tags", o.shuffle_tags},
                        {"keep_tags", o.keep_tags},
                        {"trigger", o.trigger},
                        {"convs", o.convs},
                        {"seed", o.seed},
                        {"min_snr_gamma", o.min_snr_gamma},
                        {"images", images}}
      .dump();
}

void write_checkpoint(const fs::path& dir, int step, const std::string& fp, int64_t started_at,
                      const LoraNetwork& net, const AdamW& opt, double loss) {
  NamedTensors t;
  size_t i = 0;
  for (const auto& [name, p] : net.named()) {
    t.emplace_back("lora." + name, p);
    t.emplace_back("adam_m." + name, opt.m[i]);
    t.emplace_back("adam_v." + name, opt.v[i]);
    ++i;
  }
  fs::create_directories(dir);
  save_tensors(dir / "checkpoint.safetensors", t,
               {{"atelier.checkpoint_step", std::to_string(step)},
                {"atelier.fingerprint", fp},
                {"atelier.started_at", std::to_string(started_at)},
                {"atelier.loss", std::to_string(loss)}});
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string lora_caption(const std::string& caption, const TrainLoraOptions& o, uint64_t random) {
  std::mt19937_64 rng(random);
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng) < o.caption_dropout) return "";
  auto tags = tags_with_trigger(caption, o.trigger);
  if (o.shuffle_tags) {
    const auto keep =
        static_cast<size_t>(std::clamp(o.keep_tags, 0, static_cast<int>(tags.size())));
    std::shuffle(tags.begin() + static_cast<std::ptrdiff_t>(keep), tags.end(), rng);
  }
  return join_tags(tags);
}

std::map<std::string, int> tag_frequency(const std::vector<LoraExample>& data,
                                         const TrainLoraOptions& o) {
  std::map<std::string, int> freq;
  for (const auto& e : data) {
    std::set<std::string> seen;
    for (const auto& t : tags_with_trigger(e.caption, o.trigger))
      if (seen.insert(t).second) ++freq[t];
  }
  return freq;
}

LoraTrainResult train_lora(const fs::path& base_model, const std::string& base_sha256,
                           const std::vector<LoraExample>& data, const TrainLoraOptions& o,
                           const std::function<void(const LoraTrainProgress&)>& progress,
                           const std::function<bool()>& should_stop) {
  if (data.empty()) throw std::invalid_argument("no training images");
  if (o.steps < 1) throw std::invalid_argument("steps must be at least 1");
  if (o.batch < 1) throw std::invalid_argument("batch must be at least 1");
  if (!(o.lr > 0)) throw std::invalid_argument("lr must be positive");
  if (o.caption_dropout < 0 || o.caption_dropout > 1)
    throw std::invalid_argument("caption_dropout must be in 0..1");
  if (o.checkpoint_every < 1) throw std::invalid_argument("checkpoint_every must be at least 1");
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);

  auto loaded = load_model(base_model);
  DiffusionModel model = loaded.model;
  const int64_t S = model->config.image_size;
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& im = data[i].image;
    if (im.dim() != 3 || im.size(0) != 3 || im.size(1) != S || im.size(2) != S)
      throw std::invalid_argument("training image " + std::to_string(i + 1) + " is not a (3, " +
                                  std::to_string(S) + ", " + std::to_string(S) + ") tensor");
  }
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  model->train();

  LoraNetwork net(model, o.rank, o.alpha, o.convs, mix_seed(o.seed, 0x10AA));
  auto params = net.parameters();
  AdamW opt;
  opt.init(params);
  const std::string fp = fingerprint(o, base_sha256, data);
  int64_t started_at = o.started_at > 0 ? o.started_at : unix_now();

  LoraTrainResult result;
  const auto ckpt = o.checkpoint_dir / "checkpoint.safetensors";
  int start = 0;
  if (!o.checkpoint_dir.empty() && !o.fresh && fs::exists(ckpt)) {
    auto f = SafetensorsFile::read(ckpt);
    const auto& md = f.metadata();
    auto it = md.find("atelier.fingerprint");
    if (it == md.end() || it->second != fp)
      throw std::invalid_argument(ckpt.string() +
                                  ": made with different settings or data; start fresh");
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& info : f.tensors())
      tensors[info.name] = to_float_tensor(f, info, ckpt.string());
    auto get = [&](const std::string& k) -> torch::Tensor& {
      auto t = tensors.find(k);
      if (t == tensors.end()) throw FormatError(ckpt.string() + ": tensor '" + k + "' is missing");
      return t->second;
    };
    torch::NoGradGuard g;
    size_t i = 0;
    for (const auto& [name, p] : net.named()) {
      const_cast<torch::Tensor&>(p).copy_(get("lora." + name));
      opt.m[i].copy_(get("adam_m." + name));
      opt.v[i].copy_(get("adam_v." + name));
      ++i;
    }
    start = std::stoi(md.at("atelier.checkpoint_step"));
    if (auto s = md.find("atelier.started_at"); s != md.end()) started_at = std::stoll(s->second);
    result.resumed_from = start;
  }

  const DiffusionLoss diffusion_loss(model, o.min_snr_gamma);
  const int warmup = effective_warmup(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto window_start = t0;
  double window_loss = 0;
  int window_n = 0;
  int report_resumed = start > 0 ? start : -1;
  for (int step = start; step < o.steps; ++step) {
    if (should_stop && should_stop()) {
      if (!o.checkpoint_dir.empty())
        write_checkpoint(o.checkpoint_dir, step, fp, started_at, net, opt,
                         window_n ? window_loss / window_n : 0);
      throw TrainingInterrupted("LoRA training stopped at step " + std::to_string(step));
    }
    const uint64_t step_seed = mix_seed(o.seed, static_cast<uint64_t>(step));
    std::mt19937_64 rng(step_seed);
    std::vector<torch::Tensor> imgs;
    std::vector<std::string> captions;
    for (int b = 0; b < o.batch; ++b) {
      const auto& e = data[rng() % data.size()];
      imgs.push_back(e.image);
      captions.push_back(lora_caption(e.caption, o, rng()));
    }
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(step_seed, 1));
    const auto x0 = torch::stack(imgs);
    const auto [t, noise] = diffusion_loss.draw(x0, gen);
    // The batch's rows are spread over the threads, each slice's forward and
    // backward on its own thread (row_parallel.h): intra-op threading of one small
    // batch scales poorly. Each slice returns its share of the mean loss and of the
    // gradients; they are summed in slice order, so a thread count gives the same
    // bits every run. The slices share the part of the graph that attach() builds
    // (the merged LoRA weights), so each keeps the graph for the other.
    std::vector<std::vector<torch::Tensor>> slice_grads(static_cast<size_t>(threads));
    std::vector<double> slice_loss(static_cast<size_t>(threads), 0.0);
    net.attach();
    const int slices = for_row_slices(o.batch, threads, [&](int64_t b, int64_t e, int k) {
      const std::vector<std::string> caps(captions.begin() + b, captions.begin() + e);
      auto part =
          diffusion_loss
              .row_errors(model, x0.slice(0, b, e), caps, t.slice(0, b, e), noise.slice(0, b, e))
              .sum() /
          static_cast<double>(o.batch);
      slice_grads[static_cast<size_t>(k)] =
          torch::autograd::grad({part}, params, {}, /*retain_graph=*/true, false,
                                /*allow_unused=*/true);
      slice_loss[static_cast<size_t>(k)] = part.item<double>();
    });
    net.detach();
    double loss_value = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor g;
      for (int k = 0; k < slices; ++k) {
        const auto& sg = slice_grads[static_cast<size_t>(k)][i];
        if (sg.defined()) g = g.defined() ? g + sg : sg;
      }
      params[i].mutable_grad() = g;
    }
    for (int k = 0; k < slices; ++k) loss_value += slice_loss[static_cast<size_t>(k)];
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    opt.step(params, warmup_cosine_lr(o.lr, warmup, o.steps, step), step + 1);

    const double lv = loss_value;
    window_loss += lv;
    ++window_n;
    result.final_loss = lv;
    const bool last = step + 1 == o.steps;
    if (!o.checkpoint_dir.empty() && ((step + 1) % o.checkpoint_every == 0 || last))
      write_checkpoint(o.checkpoint_dir, step + 1, fp, started_at, net, opt,
                       window_loss / window_n);
    if ((step + 1) % 5 == 0 || last || report_resumed >= 0) {
      const auto now = std::chrono::steady_clock::now();
      LoraTrainProgress p;
      p.step = step + 1;
      p.steps = o.steps;
      p.loss = window_loss / window_n;
      p.seconds_per_step = std::chrono::duration<double>(now - window_start).count() / window_n;
      p.resumed_from = report_resumed;
      if (progress) progress(p);
      window_start = now;
      window_loss = 0;
      window_n = 0;
      report_resumed = -1;
    }
  }
  result.steps = o.steps;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.tag_frequency = tag_frequency(data, o);

  // kohya-ss metadata (what A1111, ComfyUI and LoRA browsers show), then ours.
  result.lora = net.to_lora();
  auto& md = result.lora.metadata;
  const auto model_name = loaded.metadata.count("atelier.name") ? loaded.metadata.at("atelier.name")
                                                                : base_model.stem().string();
  nlohmann::json freq = nlohmann::json::object();
  for (const auto& [tag, n] : result.tag_frequency) freq[tag] = n;
  nlohmann::json image_list = nlohmann::json::array();
  for (const auto& e : data) image_list.push_back(e.sha256);
  auto num = [](double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  };
  md["ss_network_module"] = "networks.lora";
  md["ss_network_dim"] = std::to_string(o.rank);
  md["ss_network_alpha"] = num(o.alpha);
  if (o.convs)
    md["ss_network_args"] =
        nlohmann::json{{"conv_dim", std::to_string(o.rank)}, {"conv_alpha", num(o.alpha)}}.dump();
  md["ss_learning_rate"] = num(o.lr);
  md["ss_unet_lr"] = num(o.lr);
  md["ss_text_encoder_lr"] = "0";
  md["ss_lr_scheduler"] = "cosine_with_warmup";
  md["ss_lr_warmup_steps"] = std::to_string(warmup);
  md["ss_optimizer"] = "AdamW";
  md["ss_max_train_steps"] = std::to_string(o.steps);
  md["ss_batch_size_per_device"] = std::to_string(o.batch);
  md["ss_num_train_images"] = std::to_string(data.size());
  md["ss_tag_frequency"] = nlohmann::json{{"images", freq}}.dump();
  md["ss_caption_dropout_rate"] = num(o.caption_dropout);
  md["ss_shuffle_caption"] = o.shuffle_tags ? "True" : "False";
  md["ss_keep_tokens"] = std::to_string(o.keep_tags);
  md["ss_resolution"] = "(" + std::to_string(S) + ", " + std::to_string(S) + ")";
  md["ss_min_snr_gamma"] = num(o.min_snr_gamma);
  md["ss_v2"] = "False";
  md["ss_v_parameterization"] = model->config.prediction == "v" ? "True" : "False";
  md["ss_sd_model_name"] = model_name;
  md["ss_sd_model_hash"] = base_sha256.substr(0, 10);
  md["ss_new_sd_model_hash"] = base_sha256;
  md["ss_seed"] = std::to_string(o.seed);
  md["ss_training_started_at"] = std::to_string(started_at);
  md["ss_training_finished_at"] = std::to_string(unix_now());
  md["ss_output_name"] = o.output_name;
  md["ss_trigger_word"] = o.trigger;
  md["atelier.format"] = "atelier-lora/1";
  md["atelier.base_model_sha256"] = base_sha256;
  md["atelier.training_images"] = image_list.dump();
  return result;
}

}  // namespace atelier::ml
