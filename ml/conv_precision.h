// Where the UNet's convolutions compute. By default in float; a training run may
// ask for bfloat16 convolutions (mixed precision: weights stay float, are cast for
// each convolution, and gradients flow back to the float weights through the
// cast). On CPUs with AVX-512 BF16, oneDNN's bf16 convolutions run a forward and
// backward pass 2-3x faster than float at Atelier's sizes (docs/models.md).
//
// Invariants: the setting is per thread and scoped (BF16Convolutions restores the
// previous one), so inference, which never sets it, is always float; everything
// but the convolution (norms, attention, the loss) stays float.
#pragma once
#include <torch/torch.h>

namespace atelier::ml {

// True when this CPU runs bfloat16 convolutions natively (AVX-512 BF16).
bool cpu_has_native_bf16();

class BF16Convolutions {
 public:
  explicit BF16Convolutions(bool on);
  ~BF16Convolutions();
  BF16Convolutions(const BF16Convolutions&) = delete;
  BF16Convolutions& operator=(const BF16Convolutions&) = delete;
  static bool active();

 private:
  bool previous_;
};

// c(x), in bfloat16 while a BF16Convolutions(true) is alive on this thread.
torch::Tensor convolve(torch::nn::Conv2d& c, const torch::Tensor& x);

}  // namespace atelier::ml
