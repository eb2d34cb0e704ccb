// Which Stable Diffusion family a checkpoint is, and what its file says that
// shapes cannot: read from tensor names (never the file name) and from the
// safetensors metadata.
//
//  - SD 1.x: a CLIP-L text model under cond_stage_model.transformer.
//  - SD 2.x: an OpenCLIP text tower under cond_stage_model.model.
//  - SDXL base: CLIP-L and OpenCLIP bigG under conditioner.embedders.0/.1.
// A file with none of these (an SDXL refiner, a UNet alone, a LoRA) is refused
// with a message saying what was found.
//
// Prediction type: `modelspec.prediction_type` ("epsilon", "v") or an LDM
// config (`config` metadata) with `parameterization: "v"`; otherwise unknown,
// and the caller's `prediction` parameter decides (default epsilon).
// Attention heads: from an LDM/SGM config in the `config` metadata (num_heads
// or num_head_channels), a CLIPTextConfig in `clip_l` or `tiny_clip_l`, an
// open_clip config in `open_clip` or `tiny_open_clip`; otherwise the families'
// fixed values (SD1 UNet 8 heads; SD2/SDXL UNets and every text encoder 64
// channels a head).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ml/sd/weights.h"

namespace atelier::ml::sd {

enum class SdFamily { sd1, sd2, sdxl };
enum class Prediction { epsilon, v };

std::string family_name(SdFamily f);        // "SD 1.x", "SD 2.x", "SDXL"
std::string prediction_name(Prediction p);  // "epsilon", "v"
// "epsilon"/"eps" or "v"/"v_prediction"; throws std::invalid_argument.
Prediction parse_prediction(const std::string& s);

// What the metadata says (each field unset when it says nothing).
struct FileHints {
  std::optional<Prediction> prediction;
  std::optional<int> unet_heads, unet_head_channels;  // exactly one set when known
  std::optional<int> clip_l_heads, open_clip_heads;
  std::optional<double> beta_start, beta_end, scale_factor;
};

// Throws WeightError naming the source when the names fit no family.
SdFamily detect_family(const Weights& w);
// Throws WeightError naming the metadata key when a value is not valid JSON.
FileHints read_hints(const std::map<std::string, std::string>& metadata, const std::string& source);

// Old SD 1.x files name the CLIP-L model without "text_model."
// (cond_stage_model.transformer.embeddings...): renamed to today's layout.
std::map<std::string, torch::Tensor> normalise_names(std::map<std::string, torch::Tensor> t);
std::map<std::string, std::vector<int64_t>> normalise_names(
    std::map<std::string, std::vector<int64_t>> shapes);

// The LDM/SGM training buffers a single file carries (noise schedule tables,
// denoiser sigmas) and EMA copies (model_ema.*): never needed, skipped by name.
void skip_schedule_buffers(Weights& w);

}  // namespace atelier::ml::sd
