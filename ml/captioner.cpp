// The captioner model, its inference and its file format; see captioner.h.
#include "ml/captioner.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "ml/safetensors.h"
#include "ml/tensor_io.h"

namespace atelier::ml {
namespace {

std::vector<std::string> string_list(const nlohmann::json& j, const char* field) {
  if (!j.contains(field) || !j[field].is_array())
    throw std::invalid_argument(std::string("captioner config: '") + field + "' must be a list");
  std::vector<std::string> out;
  for (const auto& v : j[field]) {
    if (!v.is_string())
      throw std::invalid_argument(std::string("captioner config: '") + field +
                                  "' must hold strings only");
    out.push_back(v.get<std::string>());
  }
  if (out.empty())
    throw std::invalid_argument(std::string("captioner config: '") + field + "' is empty");
  return out;
}

void add_block(torch::nn::Sequential& s, int in, int out) {
  s->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
  s->push_back(torch::nn::BatchNorm2d(out));
  s->push_back(torch::nn::ReLU());
}

}  // namespace

nlohmann::json CaptionerConfig::to_json() const {
  return {{"image_size", image_size}, {"width", width},
          {"categories", categories}, {"tags", tags},
          {"names", names},           {"name_categories", name_categories}};
}

CaptionerConfig CaptionerConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("captioner config: not an object");
  CaptionerConfig c;
  for (const char* f : {"image_size", "width"})
    if (!j.contains(f) || !j[f].is_number_integer())
      throw std::invalid_argument(std::string("captioner config: '") + f +
                                  "' must be a whole number");
  c.image_size = j["image_size"].get<int>();
  c.width = j["width"].get<int>();
  if (c.image_size != 32) throw std::invalid_argument("captioner config: image_size must be 32");
  if (c.width < 1 || c.width > 512)
    throw std::invalid_argument("captioner config: width must be in 1..512");
  c.categories = string_list(j, "categories");
  c.tags = string_list(j, "tags");
  c.names = string_list(j, "names");
  if (j.contains("name_categories") &&
      !(j["name_categories"].is_array() && j["name_categories"].empty())) {
    const auto& nc = j["name_categories"];
    if (!nc.is_array() || nc.size() != c.names.size())
      throw std::invalid_argument(
          "captioner config: 'name_categories' must list one category per name");
    for (const auto& v : nc) {
      if (!v.is_number_integer() || v.get<int>() < 0 || v.get<size_t>() >= c.categories.size())
        throw std::invalid_argument(
            "captioner config: 'name_categories' holds an index outside 'categories'");
      c.name_categories.push_back(v.get<int>());
    }
  }
  return c;
}

CaptionerImpl::CaptionerImpl(CaptionerConfig c) : config(std::move(c)) {
  const int w = config.width;
  torch::nn::Sequential s;
  add_block(s, 3, w);
  add_block(s, w, w);
  s->push_back(torch::nn::MaxPool2d(2));  // 16x16
  add_block(s, w, 2 * w);
  add_block(s, 2 * w, 2 * w);
  s->push_back(torch::nn::MaxPool2d(2));  // 8x8
  add_block(s, 2 * w, 4 * w);
  add_block(s, 4 * w, 4 * w);
  s->push_back(torch::nn::MaxPool2d(2));  // 4x4
  add_block(s, 4 * w, 8 * w);
  s->push_back(torch::nn::AdaptiveAvgPool2d(1));
  s->push_back(torch::nn::Flatten());
  features = register_module("features", s);
  dropout = register_module("dropout", torch::nn::Dropout(0.2));
  const auto n = static_cast<int64_t>(8 * w);
  category_head = register_module(
      "category_head", torch::nn::Linear(n, static_cast<int64_t>(config.categories.size())));
  tag_head =
      register_module("tag_head", torch::nn::Linear(n, static_cast<int64_t>(config.tags.size())));
  name_head =
      register_module("name_head", torch::nn::Linear(n, static_cast<int64_t>(config.names.size())));
  std::map<std::string, int64_t> tag_index;
  for (size_t t = 0; t < config.tags.size(); ++t)
    tag_index[config.tags[t]] = static_cast<int64_t>(t);
  name_tags = torch::zeros(
      {static_cast<int64_t>(config.names.size()), static_cast<int64_t>(config.tags.size())});
  auto m = name_tags.accessor<float, 2>();
  for (size_t i = 0; i < config.names.size(); ++i)
    for (const auto& w : name_words(config.names[i]))
      if (auto it = tag_index.find(w); it != tag_index.end())
        m[static_cast<int64_t>(i)][it->second] = 1;
  if (!config.name_categories.empty()) {
    name_category = torch::zeros({static_cast<int64_t>(config.names.size()),
                                  static_cast<int64_t>(config.categories.size())});
    auto nc = name_category.accessor<float, 2>();
    for (size_t i = 0; i < config.name_categories.size(); ++i)
      nc[static_cast<int64_t>(i)][config.name_categories[i]] = 1;
  }
}

CaptionerOutput CaptionerImpl::forward(const torch::Tensor& x) {
  auto f = dropout(features->forward(x));
  return {category_head(f), tag_head(f), name_head(f)};
}

std::vector<std::string> name_words(const std::string& name) {
  static const std::set<std::string> stop = {"a",  "an", "and", "the", "of", "with", "in",
                                             "on", "at", "to",  "for", "or", "s",    "without"};
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty() && !stop.count(cur) && std::find(out.begin(), out.end(), cur) == out.end())
      out.push_back(cur);
    cur.clear();
  };
  for (unsigned char ch : name) {
    if (std::isalnum(ch)) {
      cur.push_back(static_cast<char>(std::tolower(ch)));
    } else if (ch >= 0x80) {
      cur.push_back(static_cast<char>(ch));  // keep UTF-8 letters (e.g. "piñata") whole
    } else {
      flush();
    }
  }
  flush();
  return out;
}

CaptionerScores score_images(Captioner& model, const torch::Tensor& images) {
  torch::NoGradGuard g;
  model->eval();
  auto a = model->forward(images);
  auto b = model->forward(images.flip({3}));
  CaptionerScores s;
  s.category = (a.category.softmax(1) + b.category.softmax(1)) / 2;
  s.names = (a.names.softmax(1) + b.names.softmax(1)) / 2;
  const auto own = (a.tags.sigmoid() + b.tags.sigmoid()) / 2;
  s.tags = (own + s.names.matmul(model->name_tags).clamp_max(1.0)) / 2;
  if (model->name_category.defined())
    s.category = (s.category + s.names.matmul(model->name_category)) / 2;
  return s;
}

std::vector<Caption> caption_images(Captioner& model, const torch::Tensor& images, int max_tags,
                                    double tag_threshold) {
  const CaptionerScores sc = score_images(model, images);
  const auto &cat = sc.category, &tags = sc.tags, &names = sc.names;
  const auto& c = model->config;
  std::vector<Caption> out;
  for (int64_t i = 0; i < images.size(0); ++i) {
    Caption cap;
    const auto ci = cat[i].argmax().item<int64_t>();
    cap.category = c.categories[static_cast<size_t>(ci)];
    cap.category_p = cat[i][ci].item<double>();
    const auto ni = names[i].argmax().item<int64_t>();
    cap.sentence = c.names[static_cast<size_t>(ni)];
    cap.sentence_p = names[i][ni].item<double>();
    auto [vals, idx] = tags[i].sort(/*dim=*/0, /*descending=*/true);
    for (int64_t k = 0; k < std::min<int64_t>(max_tags, vals.size(0)); ++k) {
      const double p = vals[k].item<double>();
      if (k > 0 && p < tag_threshold) break;
      cap.tags.emplace_back(c.tags[static_cast<size_t>(idx[k].item<int64_t>())], p);
    }
    out.push_back(std::move(cap));
  }
  return out;
}

LoadedCaptioner load_captioner(const std::filesystem::path& path) {
  const std::string src = path.string();
  auto file = SafetensorsFile::read(path);
  const auto& md = file.metadata();
  auto fmt = md.find("atelier.format");
  if (fmt == md.end() || fmt->second != kCaptionerFormat)
    throw FormatError(src + ": not an Atelier captioner (metadata 'atelier.format' is not " +
                      kCaptionerFormat + ")");
  auto cfg = md.find("atelier.captioner");
  if (cfg == md.end()) throw FormatError(src + ": metadata 'atelier.captioner' is missing");
  CaptionerConfig config;
  try {
    config = CaptionerConfig::from_json(nlohmann::json::parse(cfg->second));
  } catch (const std::exception& e) {
    throw FormatError(src + ": " + e.what());
  }
  Captioner model(config);
  torch::NoGradGuard g;
  std::set<std::string> used;
  auto fill = [&](const std::string& name, torch::Tensor& dst) {
    const auto* info = file.find(name);
    if (!info) throw FormatError(src + ": tensor '" + name + "' is missing");
    auto t = dst.is_floating_point() ? to_float_tensor(file, *info, src) : to_tensor(file, *info);
    if (t.sizes() != dst.sizes())
      throw FormatError(src + ": tensor '" + name + "' has shape " + c10::str(t.sizes()) +
                        ", the captioner needs " + c10::str(dst.sizes()));
    dst.copy_(t);
    used.insert(name);
  };
  for (auto& p : model->named_parameters()) fill(p.key(), p.value());
  for (auto& b : model->named_buffers()) fill(b.key(), b.value());
  for (const auto& info : file.tensors())
    if (!used.count(info.name))
      throw FormatError(src + ": tensor '" + info.name + "' is not part of the captioner");
  model->eval();
  return {model, md};
}

void save_captioner(const std::filesystem::path& path, Captioner& model,
                    std::map<std::string, std::string> metadata) {
  metadata["atelier.format"] = kCaptionerFormat;
  metadata["atelier.captioner"] = model->config.to_json().dump();
  NamedTensors tensors;
  for (auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (auto& b : model->named_buffers()) tensors.emplace_back(b.key(), b.value());
  save_tensors(path, tensors, metadata);
}

}  // namespace atelier::ml
