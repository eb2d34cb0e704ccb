// Scoped bfloat16 convolutions; see conv_precision.h.
#include "ml/conv_precision.h"

namespace atelier::ml {

namespace {
thread_local bool g_bf16 = false;
}

bool cpu_has_native_bf16() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

BF16Convolutions::BF16Convolutions(bool on) : previous_(g_bf16) {
  g_bf16 = on;
}
BF16Convolutions::~BF16Convolutions() {
  g_bf16 = previous_;
}
bool BF16Convolutions::active() {
  return g_bf16;
}

torch::Tensor convolve(torch::nn::Conv2d& c, const torch::Tensor& x) {
  if (!g_bf16) return c(x);
  const auto& o = c->options;
  namespace F = torch::nn::functional;
  auto opts = F::Conv2dFuncOptions().stride(o.stride()).padding(o.padding()).dilation(o.dilation());
  opts.groups(o.groups());
  if (c->bias.defined()) opts.bias(c->bias.to(torch::kBFloat16));
  return F::conv2d(x.to(torch::kBFloat16), c->weight.to(torch::kBFloat16), opts)
      .to(torch::kFloat32);
}

}  // namespace atelier::ml
