// SDXL's vector conditioning (the UNet's y input): the second text encoder's
// pooled output followed by the sinusoidal embeddings of the image sizes it
// was trained to be told about.
//
// Invariants: y = cat(pooled, emb(original h, w), emb(crop top, left),
// emb(target h, w)) along dim 1, each number embedded as a 256-wide
// timestep_embedding, so y has pooled_dim + 3 * 512 columns (2816 for SDXL
// base, whose UNet's label_emb expects exactly that).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace atelier::ml::sd {

inline constexpr int64_t kSdxlSizeEmbeddingDim = 256;

// The sizes of one image, in pixels.
struct SdxlSizes {
  int64_t original_height = 1024, original_width = 1024;
  int64_t crop_top = 0, crop_left = 0;
  int64_t target_height = 1024, target_width = 1024;
};

// (B, 2) pairs -> (B, 2 * 256): each number's embedding, first then second.
torch::Tensor sdxl_pair_embedding(const torch::Tensor& pairs);

// pooled (B, P); original_size, crop_top_left, target_size (B, 2) as
// [height, width], [top, left], [height, width]. Returns (B, P + 1536).
torch::Tensor sdxl_vector(const torch::Tensor& pooled, const torch::Tensor& original_size,
                          const torch::Tensor& crop_top_left, const torch::Tensor& target_size);
// The same sizes for every row of pooled.
torch::Tensor sdxl_vector(const torch::Tensor& pooled, const SdxlSizes& sizes);

}  // namespace atelier::ml::sd
