// The denoising UNet of SD 1.x, SD 2.x and SDXL single-file checkpoints
// (LDM/SGM openaimodel.UNetModel, under "model.diffusion_model."), with its
// architecture read from tensor names and shapes.
//
// Structure (as openaimodel builds it): input_blocks.0 is a 3x3 conv; then per
// level, num_res_blocks blocks of [ResBlock, optional SpatialTransformer],
// and between levels a stride-2 Downsample block. middle_block is ResBlock,
// optional SpatialTransformer, ResBlock. output_blocks mirror the levels
// with num_res_blocks + 1 blocks each, every one fed the concatenation of the
// running features and the matching input block's output, the last block of
// every level but the top ending in an Upsample. Timesteps go through the
// sinusoidal embedding and time_embed (Linear, SiLU, Linear); SDXL adds
// label_emb of its (B, adm_in_channels) vector to that embedding.
//
// Invariants: the constructor takes every parameter under the prefix with
// the shape the config implies (a block whose in-channels contradict the
// previous block's out-channels is a WeightError naming the tensor), and
// refuses a checkpoint with more blocks than the config describes; forward
// only reads. Construction works on a shape-only (meta) Weights.
#pragma once
#include <torch/torch.h>

#include <string>
#include <variant>
#include <vector>

#include "ml/sd/layers.h"
#include "ml/sd/spatial_transformer.h"
#include "ml/sd/unet_blocks.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd {

struct UNetConfig {
  int64_t in_channels = 4, out_channels = 4;
  int64_t model_channels = 320;            // input_blocks.0.0 out-channels
  int64_t time_embed_dim = 1280;           // time_embed.0 out-features
  std::vector<int64_t> channel_mult;       // per level: width / model_channels
  int64_t num_res_blocks = 2;              // per level on the way down
  std::vector<int64_t> transformer_depth;  // per level; 0: no attention there
  int64_t middle_transformer_depth = 1;    // 0: middle block is two ResBlocks
  int64_t context_dim = 0;                 // attn2.to_k in-features; 0: no attention
  bool linear_proj = false;                // SD2/SDXL: proj_in/out are Linear
  int64_t adm_in_channels = 0;             // SDXL's label_emb input; 0: none
  // Attention heads, which shapes cannot tell: exactly one is non-zero.
  // num_heads fixes the count per block (SD1 convention: 8); head_channels
  // fixes the width of a head (SD2/SDXL convention: 64).
  int64_t num_heads = 0, head_channels = 0;

  int64_t levels() const { return int64_t(channel_mult.size()); }
  // Height and width of the input must be multiples of this.
  int64_t size_multiple() const { return int64_t(1) << (levels() - 1); }
};

class UNetModel {
 public:
  // Reads every size from names and shapes under prefix
  // ("model.diffusion_model."). Heads are set by the convention: 8 heads
  // when proj_in is a 1x1 conv (SD1), head width 64 when it is linear
  // (SD2/SDXL); a caller that knows better (checkpoint metadata) overrides.
  static UNetConfig infer(const Weights& w, const std::string& prefix);

  // Takes every parameter under prefix; throws WeightError on a shape that
  // contradicts the config or a neighbouring block.
  UNetModel(Weights& w, const std::string& prefix, UNetConfig config);

  const UNetConfig& config() const { return config_; }

  // x: (B, in_channels, H, W) with H, W multiples of size_multiple();
  // t: (B) timesteps, integer or float; context: (B, tokens, context_dim),
  // required when the model has attention; y: (B, adm_in_channels), required
  // exactly when adm_in_channels > 0. Returns (B, out_channels, H, W).
  // Throws std::invalid_argument on inputs of the wrong shape.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const torch::Tensor& context, const torch::Tensor& y = {}) const;

 private:
  using Layer =
      std::variant<unet::ResBlock, unet::SpatialTransformer, unet::Downsample, unet::Upsample>;
  using Block = std::vector<Layer>;
  torch::Tensor run(const Block& block, torch::Tensor h, const torch::Tensor& silu_emb,
                    const torch::Tensor& context) const;

  UNetConfig config_;
  Linear time_embed_0, time_embed_2, label_emb_0, label_emb_2;
  Conv2d conv_in;  // input_blocks.0.0
  // input_blocks[i] holds input_blocks.(i + 1): block 0 is conv_in.
  std::vector<Block> input_blocks, output_blocks;
  Block middle_block;
  GroupNorm out_norm;
  Conv2d out_conv;
};

}  // namespace atelier::ml::sd
