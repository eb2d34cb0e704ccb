// Weights: name lookup with a record of what was used (see weights.h).
#include "ml/sd/weights.h"

#include <algorithm>

namespace atelier::ml::sd {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Weights::Weights(std::map<std::string, torch::Tensor> tensors, std::string source)
    : tensors_(std::move(tensors)), source_(std::move(source)) {}

Weights Weights::from_shapes(const std::map<std::string, std::vector<int64_t>>& shapes,
                             std::string source) {
  std::map<std::string, torch::Tensor> t;
  for (const auto& [name, shape] : shapes)
    t.emplace(name, torch::empty(shape, torch::TensorOptions().device(torch::kMeta)));
  Weights w(std::move(t), std::move(source));
  w.meta_ = true;
  return w;
}

std::vector<int64_t> Weights::shape(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw WeightError(source_ + ": missing tensor " + name);
  return it->second.sizes().vec();
}

torch::Tensor Weights::take(const std::string& name, const std::vector<int64_t>& expect) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw WeightError(source_ + ": missing tensor " + name);
  if (!expect.empty() && it->second.sizes().vec() != expect)
    throw WeightError(source_ + ": " + name + ": expected shape " + shape_text(expect) +
                      ", found " + shape_text(it->second.sizes().vec()));
  used_.insert(name);
  taken_.insert(name);
  return it->second;
}

void Weights::skip(const std::string& name) {
  if (tensors_.count(name)) used_.insert(name);
}

std::vector<std::string> Weights::names_under(const std::string& prefix) const {
  std::vector<std::string> out;
  for (auto it = tensors_.lower_bound(prefix);
       it != tensors_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out.push_back(it->first);
  return out;
}

int Weights::count_indexed(const std::string& prefix) const {
  int n = 0;
  for (const std::string& name : names_under(prefix)) {
    size_t i = prefix.size(), j = i;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
    if (j == i || j >= name.size() || name[j] != '.') continue;
    n = std::max(n, std::stoi(name.substr(i, j - i)) + 1);
  }
  return n;
}

std::vector<std::string> Weights::unused() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_)
    if (!used_.count(name)) out.push_back(name);
  return out;
}

std::map<std::string, torch::Tensor> Weights::taken() const {
  std::map<std::string, torch::Tensor> out;
  for (const std::string& name : taken_) out.emplace(name, tensors_.at(name));
  return out;
}

}  // namespace atelier::ml::sd
