// A Stable Diffusion checkpoint assembled from its components: text
// encoder(s), UNet, VAE, noise schedule and how the UNet's output is read
// (epsilon or v). Built from a single-file checkpoint in the LDM layout.
//
// Invariants: building takes every parameter of the file; a key that no
// component wanted and that is not a known buffer (sd_family.h) fails the
// load with the first such names, so a layout this code misreads never
// half-loads. Every size comes from shapes; what shapes cannot tell comes
// from the file's metadata or the family's convention (sd_family.h), and
// `warnings` says when a guess was made that changes the pictures.
// `params` holds every parameter the components took, by its LDM name,
// sharing storage with them: an in-place edit of params (a LoRA merge) is
// what the next forward pass computes with.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ml/noise_schedule.h"
#include "ml/sd/clip_text_model.h"
#include "ml/sd/sd_family.h"
#include "ml/sd/unet_model.h"
#include "ml/sd/vae_model.h"
#include "ml/sd/weights.h"

namespace atelier::ml::sd {

struct SdLoadOptions {
  // The caller's `prediction` parameter: used when the file does not say.
  std::optional<Prediction> prediction;
};

struct SdModel {
  SdFamily family = SdFamily::sd1;
  Prediction prediction = Prediction::epsilon;
  std::string prediction_source;  // "metadata", "parameter" or "default"
  std::string weights_dtype;      // as stored: "fp32", "fp16", "bf16", "mixed"
  std::vector<std::string> warnings;
  double scale_factor = 0.18215;  // latent = vae.encode * scale_factor
  NoiseSchedule schedule = NoiseSchedule::scaled_linear(0.00085, 0.012, 1000);
  // SD1/SD2: te_l (CLIP-L) or te_g (OpenCLIP-H) alone; SDXL: both (CLIP-L, bigG).
  std::optional<ClipTextModel> te_l, te_g;
  std::optional<UNetModel> unet;
  std::optional<VaeModel> vae;
  // Every parameter taken, by LDM name (Weights::taken()): the same tensors
  // the components read, not copies.
  std::map<std::string, torch::Tensor> params;

  int64_t vae_factor() const { return vae->downscale_factor(); }
};

// Builds every component from w (which may be a shape-only inventory), then
// fails on leftovers. Throws WeightError naming w.source() and the tensor.
SdModel build_sd_model(Weights& w, const FileHints& hints, const SdLoadOptions& options = {});

// read_checkpoint + build_sd_model.
std::unique_ptr<SdModel> load_sd_model(const std::filesystem::path& checkpoint,
                                       const SdLoadOptions& options = {});

}  // namespace atelier::ml::sd
