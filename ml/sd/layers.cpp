// Plain tensor layers (see layers.h).
#include "ml/sd/layers.h"

#include <cmath>

namespace atelier::ml::sd {

torch::Tensor Linear::operator()(const torch::Tensor& x) const {
  return torch::nn::functional::linear(x, weight, bias);
}

Linear load_linear(Weights& w, const std::string& prefix, bool bias) {
  Linear l;
  l.weight = w.take(prefix + "weight");
  if (bias || w.has(prefix + "bias")) l.bias = w.take(prefix + "bias", {l.weight.size(0)});
  return l;
}

torch::Tensor Conv2d::operator()(const torch::Tensor& x) const {
  return torch::conv2d(x, weight, bias, stride, padding);
}

Conv2d load_conv(Weights& w, const std::string& prefix, int64_t stride) {
  Conv2d c;
  c.weight = w.take(prefix + "weight");
  if (c.weight.dim() != 4)
    throw WeightError(w.source() + ": " + prefix +
                      "weight: expected a 4-d convolution kernel, found " +
                      shape_text(c.weight.sizes().vec()));
  c.bias = w.take(prefix + "bias", {c.weight.size(0)});
  c.stride = stride;
  c.padding = c.weight.size(2) / 2;
  return c;
}

torch::Tensor GroupNorm::operator()(const torch::Tensor& x) const {
  return torch::group_norm(x, groups, weight, bias, eps);
}

GroupNorm load_group_norm(Weights& w, const std::string& prefix, int64_t groups, double eps) {
  GroupNorm g;
  g.weight = w.take(prefix + "weight");
  g.bias = w.take(prefix + "bias", {g.weight.size(0)});
  g.groups = groups;
  g.eps = eps;
  if (g.weight.size(0) % groups != 0)
    throw WeightError(w.source() + ": " + prefix + "weight: " + std::to_string(g.weight.size(0)) +
                      " channels do not split into " + std::to_string(groups) + " groups");
  return g;
}

torch::Tensor LayerNorm::operator()(const torch::Tensor& x) const {
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

LayerNorm load_layer_norm(Weights& w, const std::string& prefix, double eps) {
  LayerNorm l;
  l.weight = w.take(prefix + "weight");
  l.bias = w.take(prefix + "bias", {l.weight.size(0)});
  l.eps = eps;
  return l;
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t heads, const torch::Tensor& mask) {
  const int64_t b = q.size(0), n = q.size(1), m = k.size(1), c = q.size(2), d = c / heads;
  auto split = [&](const torch::Tensor& t, int64_t len) {
    return t.reshape({b, len, heads, d}).permute({0, 2, 1, 3}).reshape({b * heads, len, d});
  };
  torch::Tensor qh = split(q, n), kh = split(k, m), vh = split(v, m);
  torch::Tensor scores = torch::bmm(qh, kh.transpose(1, 2)) * (1.0 / std::sqrt(double(d)));
  if (mask.defined()) {
    scores = scores.view({b, heads, n, m});
    scores = scores + (mask.dim() == 3 ? mask.unsqueeze(1) : mask);
    scores = scores.view({b * heads, n, m});
  }
  torch::Tensor out = torch::bmm(scores.softmax(-1), vh);
  return out.reshape({b, heads, n, d}).permute({0, 2, 1, 3}).reshape({b, n, c});
}

torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim, double max_period) {
  const int64_t half = dim / 2;
  torch::Tensor freqs =
      torch::exp(-std::log(max_period) * torch::arange(half, t.options().dtype(torch::kFloat32)) /
                 double(half));
  torch::Tensor args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  torch::Tensor emb = torch::cat({torch::cos(args), torch::sin(args)}, 1);
  if (dim % 2) emb = torch::cat({emb, torch::zeros({emb.size(0), 1}, emb.options())}, 1);
  return emb;
}

}  // namespace atelier::ml::sd
