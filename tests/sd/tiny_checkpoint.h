// Random-weight Stable Diffusion checkpoints in the single-file LDM layouts
// (SD 1.x, SD 2.x, SDXL base) at any size, made at test time so end-to-end
// tests need no downloaded model, and a small CLIP-style tokenizer folder to
// drive them.
//
// Invariants:
//  - sd_checkpoint_shapes(c) lists exactly the tensors the upstream code saves
//    for that architecture (CompVis/Stability LDM, SGM, HF CLIPTextModel 4.19
//    names, open_clip), buffers included; for full_size(f) it equals the
//    reference inventories name for name and shape for shape.
//  - write_sd_checkpoint writes exactly those tensors; the bytes depend only on
//    (config, seed, dtype, metadata): each tensor draws from its own
//    std::mt19937_64 seeded from the seed and the tensor's name, with a
//    Box-Muller transform (std::normal_distribution differs between standard
//    libraries), so files are the same on every platform.
//  - Nothing here needs torch: it uses only the safetensors writer.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ml/safetensors.h"

namespace atelier::test::sd {

enum class TinyFamily { sd1, sd2, sdxl };

// HF CLIPTextModel (CLIP ViT-L/14 text tower): MLP width 4 * width.
struct ClipLSize {
  int vocab_size = 49408, width = 768, layers = 12, heads = 12, max_positions = 77;
};

// open_clip text tower: MLP width 4 * width; text_projection [width, embed_dim].
struct OpenClipSize {
  int vocab_size = 49408, width = 1024, layers = 24, heads = 16, context_length = 77;
  int embed_dim = 1024;
};

struct TinySdConfig {
  TinyFamily family = TinyFamily::sd1;

  // UNet (openaimodel.UNetModel). transformer_depth has one entry per level,
  // 0 meaning no attention there (for SD 1.x/2.x the levels with attention are
  // the config's attention_resolutions, 2^level each).
  int model_channels = 320;
  std::vector<int> channel_mult{1, 2, 4, 4};
  int num_res_blocks = 2;
  std::vector<int> transformer_depth{1, 1, 1, 0};
  int transformer_depth_middle = 1;
  int num_heads = 8;           // used when num_head_channels <= 0 (SD 1.x style)
  int num_head_channels = -1;  // SD 2.x and SDXL: channels per head
  int unet_in_channels = 4, unet_out_channels = 4;

  // VAE (AutoencoderKL, no attention outside the mid blocks).
  int vae_ch = 128;
  std::vector<int> vae_ch_mult{1, 2, 4, 4};
  int vae_num_res_blocks = 2;
  int z_channels = 4;

  // Text encoders: CLIP-L for sd1 and SDXL's first, OpenCLIP for sd2 and
  // SDXL's second.
  ClipLSize clip_l;
  OpenClipSize open_clip;

  // What shapes cannot tell, written to the metadata.
  bool v_prediction = false;
  double linear_start = 0.00085, linear_end = 0.012;
  int timesteps = 1000;
  double scale_factor = 0.18215;
  // model_ema.decay and model_ema.num_updates, as CompVis training saves them
  // in SD 1.x files (the tiny references have them; the inventories do not).
  bool ema_counters = false;

  // Cross-attention width: the text encoders' widths (SDXL: both, concatenated).
  int context_dim() const;
  // SDXL's label_emb input: pooled OpenCLIP projection + 6 size embeddings of 256.
  int adm_in_channels() const;
  // Image pixels per latent pixel: 2^(levels - 1).
  int vae_downscale() const;
  // Throws std::invalid_argument for an inconsistent config (lists of the wrong
  // length, channels that heads do not divide, ...).
  void validate() const;
};

// The real SD 1.5, SD 2.1 (768-v) and SDXL base 1.0 sizes.
TinySdConfig full_size(TinyFamily family);
// The sizes of ../shared/external-refs/sd-layouts/tiny (index.json): UNet 32
// channels, mult {1,2}, one res block; VAE 32 channels, mult {1,2} (downscale
// 2); text encoders 32 (SDXL OpenCLIP 48) wide, 3 layers, vocabulary 1000.
TinySdConfig tiny(TinyFamily family);

using ShapeList = std::vector<std::pair<std::string, std::vector<int64_t>>>;
// Every tensor the upstream code saves for this config, parameters and buffers.
ShapeList sd_checkpoint_shapes(const TinySdConfig& c);

// The __metadata__ write_sd_checkpoint stores: "format" "pt", "config" (an LDM
// or SGM config JSON: num_heads or num_head_channels, parameterization,
// linear_start/linear_end, scale_factor), "tiny_clip_l" (a CLIPTextConfig with
// num_attention_heads) and/or "tiny_open_clip" ({"text_cfg": {"heads", ...}}),
// and "modelspec.prediction_type" ("epsilon" or "v").
std::map<std::string, std::string> sd_checkpoint_metadata(const TinySdConfig& c);

// Writes a random-weight checkpoint. Float tensors are stored as dtype (F32,
// F16 or BF16); position_ids as I64 [1, 77] and model_ema.num_updates as I32,
// as real files hold them. Linear and conv weights are normal / sqrt(fan_in)
// (activations keep their scale at any size), norm weights 1 + small noise,
// biases small noise, embeddings normal * 0.02; schedule tables are computed
// (scaled-linear betas from linear_start to linear_end). extra_metadata is
// added to (and overrides) sd_checkpoint_metadata(c).
void write_sd_checkpoint(const std::filesystem::path& path, const TinySdConfig& c, uint64_t seed,
                         ml::DType dtype = ml::DType::F32,
                         const std::map<std::string, std::string>& extra_metadata = {});

// A Hugging Face-style CLIP tokenizer folder (vocab.json + merges.txt) with
// vocab_size ids: the 256 byte symbols (bytes_to_unicode order), the same with
// "</w>", merges learnt from a small built-in English text (then letter pairs)
// and <|startoftext|>, <|endoftext|> as the last two ids. Throws
// std::invalid_argument when vocab_size < 514.
void write_test_tokenizer(const std::filesystem::path& dir, int vocab_size);

}  // namespace atelier::test::sd
