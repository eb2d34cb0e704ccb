// The captioner's training loop and evaluation; see captioner_trainer.h.
#include "ml/captioner_trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>
#include <thread>

#include "ml/base_trainer.h"
#include "ml/image_tensor.h"
#include "ml/safetensors.h"
#include "ml/tensor_io.h"
#include "ml/training_common.h"

namespace atelier::ml {
namespace fs = std::filesystem;
namespace {

struct Data {
  std::vector<EmojiRecord> records;
  std::vector<std::vector<size_t>> by_base;  // record indices per base emoji
  torch::Tensor images;                      // (N, 3, 32, 32)
  torch::Tensor category, name, tags;        // (N), (N), (N, T) float
};

Data load_data(const TrainCaptionerOptions& o, CaptionerConfig& config) {
  if (o.styles.empty()) throw std::invalid_argument("no training style given");
  if (!o.package_dir.empty() && o.styles.size() != 1)
    throw std::invalid_argument("package_dir needs exactly one style");
  Data d;
  std::map<std::string, size_t> base_index;
  std::map<std::string, std::string> base_name;
  for (const auto& style : o.styles) {
    const auto dir = o.package_dir.empty() ? emoji_package_dir(style) : o.package_dir;
    int taken = 0;
    for (auto& r : load_emoji_records(dir, style)) {
      if (r.held_out) continue;
      if (o.limit_images > 0 && taken >= o.limit_images) break;
      ++taken;
      auto [it, fresh] = base_index.emplace(r.base, d.by_base.size());
      if (fresh) d.by_base.emplace_back();
      d.by_base[it->second].push_back(d.records.size());
      if (r.unified == r.base || !base_name.count(r.base)) base_name[r.base] = r.name;
      d.records.push_back(std::move(r));
    }
  }
  if (d.records.empty()) throw std::runtime_error("no training images");
  // Tags: name words shared by at least min_tag_emoji base emoji, most common first.
  std::map<std::string, std::set<std::string>> word_bases;
  for (const auto& r : d.records)
    for (const auto& w : name_words(r.name)) word_bases[w].insert(r.base);
  std::vector<std::pair<int, std::string>> counted;
  for (const auto& [w, bases] : word_bases)
    if (static_cast<int>(bases.size()) >= o.min_tag_emoji)
      counted.emplace_back(-static_cast<int>(bases.size()), w);
  std::sort(counted.begin(), counted.end());
  config.tags.clear();
  for (const auto& [n, w] : counted) config.tags.push_back(w);
  if (config.tags.empty()) throw std::runtime_error("no name word is shared by enough emoji");
  std::map<std::string, int64_t> tag_index;
  for (size_t i = 0; i < config.tags.size(); ++i)
    tag_index[config.tags[i]] = static_cast<int64_t>(i);
  // Names: one per base emoji, in first-seen order.
  config.names.assign(d.by_base.size(), "");
  for (const auto& [base, i] : base_index) config.names[i] = base_name[base];
  config.categories = emoji_categories();
  config.name_categories.assign(d.by_base.size(), 0);
  for (const auto& r : d.records)
    config.name_categories[base_index.at(r.base)] = category_index(r.category);

  const auto N = static_cast<int64_t>(d.records.size());
  std::vector<torch::Tensor> imgs;
  std::vector<int64_t> cat, name;
  auto tags = torch::zeros({N, static_cast<int64_t>(config.tags.size())});
  for (int64_t i = 0; i < N; ++i) {
    const auto& r = d.records[static_cast<size_t>(i)];
    imgs.push_back(load_image_tensor(r.image, config.image_size));
    cat.push_back(category_index(r.category));
    name.push_back(static_cast<int64_t>(base_index.at(r.base)));
    for (const auto& w : name_words(r.name))
      if (auto t = tag_index.find(w); t != tag_index.end()) tags[i][t->second] = 1;
  }
  d.images = torch::stack(imgs);
  d.category = torch::tensor(cat);
  d.name = torch::tensor(name);
  d.tags = tags;
  return d;
}

torch::Tensor uniform(at::Generator& g, int64_t n, double lo, double hi) {
  return torch::rand({n}, g) * (hi - lo) + lo;
}

// Batch augmentation in [-1, 1]; white stays white (uncovered pixels are white).
torch::Tensor augment(torch::Tensor x, at::Generator& g) {
  const int64_t B = x.size(0);
  auto flip = torch::rand({B}, g) < 0.5;
  x = torch::where(flip.view({B, 1, 1, 1}), x.flip({3}), x);
  // scale 0.85-1.15, rotation +-10 degrees, shift +-3 px (of 32: 3/16 in grid units)
  auto s = uniform(g, B, 1 / 1.15, 1 / 0.85);
  auto r = uniform(g, B, -M_PI / 18, M_PI / 18);
  auto tx = uniform(g, B, -3.0 / 16, 3.0 / 16), ty = uniform(g, B, -3.0 / 16, 3.0 / 16);
  auto theta = torch::stack({torch::stack({s * r.cos(), -s * r.sin(), tx}, 1),
                             torch::stack({s * r.sin(), s * r.cos(), ty}, 1)},
                            1);
  auto grid = torch::affine_grid_generator(theta, x.sizes(), false);
  x = torch::grid_sampler(x - 1, grid, 0, 0, false) + 1;  // bilinear, zero padding = white
  // colour: saturation 0.7-1.3, contrast 0.8-1.2, brightness +-0.08 (on 0..1)
  auto v = (x + 1) / 2;
  auto gray = v.mean(1, true);
  v = gray + (v - gray) * uniform(g, B, 0.7, 1.3).view({B, 1, 1, 1});
  auto mean = v.mean({1, 2, 3}, true);
  v = mean + (v - mean) * uniform(g, B, 0.8, 1.2).view({B, 1, 1, 1});
  v = v + uniform(g, B, -0.08, 0.08).view({B, 1, 1, 1});
  x = v.clamp(0, 1) * 2 - 1;
  // a light blur on a fifth of the batch, a little noise on another fifth
  auto k = torch::tensor({1.f, 2.f, 1.f});
  auto k2 = (k.view({3, 1}) * k.view({1, 3}) / 16).expand({3, 1, 3, 3}).contiguous();
  auto blurred =
      torch::nn::functional::conv2d(torch::replication_pad2d(x, {1, 1, 1, 1}), k2,
                                    torch::nn::functional::Conv2dFuncOptions().groups(3));
  x = torch::where((torch::rand({B}, g) < 0.2).view({B, 1, 1, 1}), blurred, x);
  auto noisy = (x + torch::randn(x.sizes(), g) * 0.1).clamp(-1, 1);
  return torch::where((torch::rand({B}, g) < 0.2).view({B, 1, 1, 1}), noisy, x);
}

std::string fingerprint(const TrainCaptionerOptions& o, const Data& d, const CaptionerConfig& c) {
  return nlohmann::json{{"styles", o.styles},
                        {"width", o.width},
                        {"epochs", o.epochs},
                        {"samples_per_epoch", o.samples_per_epoch},
                        {"batch", o.batch},
                        {"lr", o.lr},
                        {"weight_decay", o.weight_decay},
                        {"label_smoothing", o.label_smoothing},
                        {"seed", o.seed},
                        {"images", d.records.size()},
                        {"tags", c.tags.size()},
                        {"names", c.names.size()}}
      .dump();
}

void write_checkpoint(const fs::path& dir, int epoch, const std::string& fp, Captioner& model,
                      const AdamW& opt) {
  NamedTensors t;
  size_t i = 0;
  for (auto& p : model->named_parameters()) {
    t.emplace_back("model." + p.key(), p.value());
    t.emplace_back("adam_m." + p.key(), opt.m[i]);
    t.emplace_back("adam_v." + p.key(), opt.v[i]);
    ++i;
  }
  for (auto& b : model->named_buffers()) t.emplace_back("buffer." + b.key(), b.value());
  fs::create_directories(dir);
  save_tensors(dir / "checkpoint.safetensors", t,
               {{"atelier.checkpoint_epoch", std::to_string(epoch)},
                {"atelier.fingerprint", fp},
                {"atelier.captioner", model->config.to_json().dump()}});
}

int read_checkpoint(const fs::path& file, const std::string& fp, Captioner& model, AdamW& opt) {
  auto f = SafetensorsFile::read(file);
  const auto& md = f.metadata();
  auto it = md.find("atelier.fingerprint");
  if (it == md.end() || it->second != fp ||
      md.at("atelier.captioner") != model->config.to_json().dump())
    throw std::invalid_argument(file.string() +
                                ": made with different settings or data; pass --fresh");
  auto get = [&](const std::string& k) {
    const auto* info = f.find(k);
    if (!info) throw FormatError(file.string() + ": tensor '" + k + "' is missing");
    return to_tensor(f, *info);
  };
  torch::NoGradGuard g;
  size_t i = 0;
  for (auto& p : model->named_parameters()) {
    p.value().copy_(get("model." + p.key()));
    opt.m[i].copy_(get("adam_m." + p.key()));
    opt.v[i].copy_(get("adam_v." + p.key()));
    ++i;
  }
  for (auto& b : model->named_buffers()) b.value().copy_(get("buffer." + b.key()));
  return std::stoi(md.at("atelier.checkpoint_epoch"));
}

std::string dataset_names(const std::vector<std::string>& styles) {
  std::string out;
  for (const auto& s : styles)
    out += (out.empty() ? "" : ", ") + ("emoji-datasource-" + s + "@16.0.0");
  return out;
}

}  // namespace

nlohmann::json CaptionerEval::to_json() const {
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [cat, v] : per_category)
    per[cat] = {{"images", v.first}, {"accuracy", v.second}};
  return {{"style", style},
          {"images", images},
          {"category_accuracy", category_accuracy},
          {"word_recall_at_5", word_recall_at_5},
          {"tag_precision_at_5", tag_precision_at_5},
          {"sentence_accuracy", sentence_accuracy},
          {"per_category", per}};
}

std::vector<CaptionerEval> evaluate_held_out(Captioner& model,
                                             const std::map<std::string, fs::path>& packages) {
  std::vector<CaptionerEval> out;
  for (const std::string style : {"twitter", "google"}) {
    const auto it = packages.find(style);
    const fs::path dir = it != packages.end() ? it->second : emoji_package_dir(style);
    if (!fs::exists(dir)) continue;
    std::vector<EmojiRecord> held;
    for (auto& r : load_emoji_records(dir, style))
      if (r.held_out && r.unified == r.base) held.push_back(std::move(r));
    out.push_back(evaluate_captioner(model, held, style));
  }
  return out;
}

CaptionerEval evaluate_captioner(Captioner& model, const std::vector<EmojiRecord>& records,
                                 const std::string& style) {
  CaptionerEval e;
  e.style = style;
  if (records.empty()) return e;
  const auto& c = model->config;
  std::map<std::string, std::pair<int, int>> per;  // images, correct
  int correct = 0, sentence_ok = 0;
  double recall = 0, precision = 0;
  for (size_t start = 0; start < records.size(); start += 256) {
    const size_t end = std::min(records.size(), start + 256);
    std::vector<torch::Tensor> imgs;
    for (size_t i = start; i < end; ++i)
      imgs.push_back(load_image_tensor(records[i].image, c.image_size));
    const CaptionerScores sc = score_images(model, torch::stack(imgs));
    auto cat = sc.category.argmax(1);
    auto top5 = std::get<1>(sc.tags.topk(std::min<int64_t>(5, sc.tags.size(1)), 1));
    auto name = sc.names.argmax(1);
    for (size_t i = start; i < end; ++i) {
      const auto& r = records[i];
      const auto row = static_cast<int64_t>(i - start);
      const bool ok = c.categories[static_cast<size_t>(cat[row].item<int64_t>())] == r.category;
      correct += ok;
      auto& pc = per[r.category];
      ++pc.first;
      pc.second += ok;
      const auto words = name_words(r.name);
      std::set<std::string> wset(words.begin(), words.end());
      int hits = 0;
      for (int64_t k = 0; k < top5.size(1); ++k)
        hits += wset.count(c.tags[static_cast<size_t>(top5[row][k].item<int64_t>())]) ? 1 : 0;
      if (!words.empty()) recall += static_cast<double>(hits) / static_cast<double>(words.size());
      precision += hits / 5.0;
      sentence_ok += c.names[static_cast<size_t>(name[row].item<int64_t>())] == r.name;
    }
  }
  const double n = static_cast<double>(records.size());
  e.images = static_cast<int>(records.size());
  e.category_accuracy = correct / n;
  e.word_recall_at_5 = recall / n;
  e.tag_precision_at_5 = precision / n;
  e.sentence_accuracy = sentence_ok / n;
  for (const auto& [cat, v] : per)
    e.per_category[cat] = {v.first, static_cast<double>(v.second) / v.first};
  return e;
}

CaptionerTrainResult train_captioner(const TrainCaptionerOptions& o,
                                     const std::function<void(const CaptionerProgress&)>& progress,
                                     const std::function<bool()>& should_stop) {
  if (o.epochs < 1 || o.batch < 1 || o.samples_per_epoch < o.batch)
    throw std::invalid_argument("epochs and batch must be at least 1, samples_per_epoch >= batch");
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(o.seed);

  CaptionerConfig config;
  config.width = o.width;
  Data data = load_data(o, config);
  Captioner model(config);
  auto params = model->parameters();
  AdamW opt;
  opt.weight_decay = o.weight_decay;
  opt.init(params);
  const std::string fp = fingerprint(o, data, config);
  const auto ckpt = o.checkpoint_dir / "checkpoint.safetensors";
  int start_epoch = 0;
  if (!o.checkpoint_dir.empty() && !o.fresh && fs::exists(ckpt))
    start_epoch = read_checkpoint(ckpt, fp, model, opt);

  const int steps_per_epoch = o.samples_per_epoch / o.batch;
  const int total = steps_per_epoch * o.epochs;
  const int warmup = std::max(1, total / 20);
  CaptionerTrainResult result;
  result.images = static_cast<int>(data.records.size());
  result.base_emoji = static_cast<int>(data.by_base.size());
  result.tags = static_cast<int>(config.tags.size());
  const auto t0 = std::chrono::steady_clock::now();
  const double n_tags = static_cast<double>(config.tags.size());
  for (int epoch = start_epoch; epoch < o.epochs; ++epoch) {
    const auto e0 = std::chrono::steady_clock::now();
    model->train();
    double loss_sum = 0;
    for (int s = 0; s < steps_per_epoch; ++s) {
      if (should_stop && should_stop()) {
        // The checkpoint of the last finished epoch is the resume point: the
        // weights now hold part of this epoch and would not resume exactly.
        throw TrainingInterrupted("captioner training stopped in epoch " +
                                  std::to_string(epoch + 1) + "; it resumes from the start of it");
      }
      const int step = epoch * steps_per_epoch + s;
      const uint64_t step_seed = mix_seed(o.seed, static_cast<uint64_t>(step));
      std::mt19937_64 rng(step_seed);
      std::vector<int64_t> idx;
      for (int b = 0; b < o.batch; ++b) {
        const auto& group = data.by_base[rng() % data.by_base.size()];
        idx.push_back(static_cast<int64_t>(group[rng() % group.size()]));
      }
      auto ix = torch::tensor(idx);
      at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(step_seed, 1));
      // Dropout draws from the global generator: seed it per step too, so a
      // resumed run repeats an uninterrupted one exactly.
      torch::manual_seed(mix_seed(step_seed, 2));
      auto x = augment(data.images.index_select(0, ix), gen);
      auto out = model->forward(x);
      namespace F = torch::nn::functional;
      auto ce = F::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing);
      // Tag loss summed over tags (most are negatives) and scaled so that it
      // weighs about as much as one softmax term.
      auto loss = F::cross_entropy(out.category, data.category.index_select(0, ix), ce) +
                  F::cross_entropy(out.names, data.name.index_select(0, ix), ce) +
                  F::binary_cross_entropy_with_logits(out.tags, data.tags.index_select(0, ix)) *
                      (n_tags / 8.0);
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      loss.backward();
      opt.step(params, warmup_cosine_lr(o.lr, warmup, total, step), step + 1);
      loss_sum += loss.item<double>();
    }
    result.final_loss = loss_sum / steps_per_epoch;
    if (!o.checkpoint_dir.empty()) write_checkpoint(o.checkpoint_dir, epoch + 1, fp, model, opt);
    if (progress) {
      CaptionerProgress p;
      p.epoch = epoch + 1;
      p.epochs = o.epochs;
      p.loss = result.final_loss;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      p.resumed = epoch == start_epoch && start_epoch > 0;
      progress(p);
    }
  }
  result.epochs = o.epochs;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::map<std::string, fs::path> packages;
  if (o.styles.size() == 1 && !o.package_dir.empty()) packages[o.styles[0]] = o.package_dir;
  result.evals = evaluate_held_out(model, packages);
  nlohmann::json evals = nlohmann::json::array();
  for (const auto& e : result.evals) evals.push_back(e.to_json());
  if (!o.output.parent_path().empty()) fs::create_directories(o.output.parent_path());
  save_captioner(o.output, model,
                 {{"atelier.name", o.model_name},
                  {"atelier.dataset", dataset_names(o.styles)},
                  {"atelier.training_settings", fp},
                  {"atelier.training_images", std::to_string(data.records.size())},
                  {"atelier.evaluation", evals.dump()},
                  {"atelier.command", o.command}});
  return result;
}

}  // namespace atelier::ml
