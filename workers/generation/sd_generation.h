// Generation with a Stable Diffusion checkpoint, for a `generate` job and for
// `atelier generate`: one place that turns the kind's parameters into an
// ml::sd request, finds the tokenizer, keeps the loaded checkpoint, and
// describes the result for the PNG's infotext and manifest.
//
// Defaults where the parameters say nothing: A1111's (20 steps, Euler a,
// guidance 7, 512 pixels; SDXL 1024, an SD 2.x v-model 768); a preset
// (turbo, lcm) replaces them, and any explicitly given steps, sampler or cfg
// win over both. `batch` does not apply: images are drawn one at a time.
//
// Invariants: one checkpoint stays loaded per worker process (the most recent:
// a full-size SDXL file takes ~10 GB as float32), reloaded when the file's
// size or modification time changes or another prediction type is asked for;
// tokenizers are kept by folder.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kinds/generate.h"
#include "media/png_io.h"
#include "provenance/generation_manifest.h"

namespace atelier {

// True for a safetensors file of Atelier's own format (its header says
// "atelier.format"); false for anything else, which the SD loader judges.
bool is_atelier_model_file(const std::filesystem::path& file);

struct SdGeneration {
  std::vector<media::Image> images;
  // Filled but for seed, width, height and batch fields (per image) and the
  // run/job/stage/params/inputs of a job.
  provenance::GenerationFacts facts;
  std::string arch;        // "SD 1.x", "SD 2.x", "SDXL"
  std::string prediction;  // "epsilon", "v"
  std::vector<std::string> warnings;
  int64_t seed = 0;  // of the first image
};

// A kohya LoRA to apply, with its multiplier; `label` names it in messages.
struct SdLoraFile {
  std::filesystem::path file;
  double multiplier = 1.0;
  std::string label;
};

// `params` is the raw JSON the typed ones came from (to tell given values from
// defaults). `read_check` judges each file read (confinement); it returns the
// path to open. `init`, when given, makes it img2img (A1111's "Just resize" to
// the output size). LoRAs are merged into the cached checkpoint for this call
// only and taken out again before it returns. Throws InputError naming the
// parameter or file.
SdGeneration generate_with_sd(
    const GenerateParams& p, const nlohmann::json& params, const std::filesystem::path& checkpoint,
    const media::Image* init, const std::vector<SdLoraFile>& loras, int threads,
    const std::function<std::filesystem::path(const std::filesystem::path&, std::string_view)>&
        read_check,
    const std::function<void(double)>& progress = {},
    const std::function<void()>& check_cancelled = {});

}  // namespace atelier
