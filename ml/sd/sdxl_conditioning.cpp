// SDXL's vector conditioning (see sdxl_conditioning.h).
#include "ml/sd/sdxl_conditioning.h"

#include <stdexcept>

#include "ml/sd/layers.h"

namespace atelier::ml::sd {

torch::Tensor sdxl_pair_embedding(const torch::Tensor& pairs) {
  if (pairs.dim() != 2 || pairs.size(1) != 2)
    throw std::invalid_argument("SDXL size conditioning: expected (B, 2) pairs, found " +
                                shape_text(pairs.sizes().vec()));
  const int64_t b = pairs.size(0);
  // Row-major flattening puts each row's two numbers next to each other, so
  // reshaping back gives [emb(first), emb(second)] per row.
  return timestep_embedding(pairs.reshape({-1}), kSdxlSizeEmbeddingDim)
      .reshape({b, 2 * kSdxlSizeEmbeddingDim});
}

torch::Tensor sdxl_vector(const torch::Tensor& pooled, const torch::Tensor& original_size,
                          const torch::Tensor& crop_top_left, const torch::Tensor& target_size) {
  const torch::TensorOptions o = pooled.options();
  return torch::cat(
      {pooled, sdxl_pair_embedding(original_size).to(o), sdxl_pair_embedding(crop_top_left).to(o),
       sdxl_pair_embedding(target_size).to(o)},
      1);
}

torch::Tensor sdxl_vector(const torch::Tensor& pooled, const SdxlSizes& s) {
  const int64_t b = pooled.size(0);
  auto pair = [&](int64_t first, int64_t second) {
    return torch::tensor({first, second}, torch::kLong).unsqueeze(0).expand({b, 2});
  };
  return sdxl_vector(pooled, pair(s.original_height, s.original_width),
                     pair(s.crop_top, s.crop_left), pair(s.target_height, s.target_width));
}

}  // namespace atelier::ml::sd
