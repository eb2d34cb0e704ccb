// What a generated PNG carries: the AUTOMATIC1111 `parameters` text (tEXt) and
// the Atelier manifest (iTXt, JSON). Invariant: the parameters text depends only
// on the model and the request, never on run ids or times, so the same
// generation gives byte-identical `parameters` chunks; the manifest holds the
// rest (run, job, times, pixels_sha256, the batch the image was drawn in) and,
// given a key, is signed over its canonical form (provenance/signing.h).
// Both writers of generated PNGs (the generate kind, `atelier generate`) call
// encode_generated_png, and verify_policy.h and trace.h read what it writes, so
// the chunk names and manifest fields are defined here once.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "media/png_io.h"
#include "provenance/signing.h"

namespace atelier::provenance {

struct GenerationFacts {
  std::string prompt, negative_prompt;
  int steps = 0;
  std::string sampler;  // A1111 display name
  double cfg = 0;
  int64_t seed = 0;  // of this image
  int width = 0, height = 0;
  std::string model_name, model_sha256;
  struct Lora {
    std::string name, sha256;
    double scale = 1;
    // The hash A1111 writes in "Lora hashes" when it differs from the first 12
    // hex digits of the sha256: for kohya files, the "addnet" hash (sha256 of
    // the tensor data after the header), its first 12 hex digits.
    std::string a1111_hash;
  };
  std::vector<Lora> loras;  // in the order they were applied
  // Further A1111 fields, in order, after "Model" ("Clip skip", "VAE", ...);
  // the manifest holds them as generation.settings when there are any.
  std::vector<std::pair<std::string, std::string>> settings;
  int threads = 0;
  // The forward pass that drew this image: its size and this image's place in
  // it (ml/generator.h: pixels are reproducible for the same batch and threads).
  int batch = 1, batch_index = 0;
  std::string libtorch;  // the version that drew it (ml::torch_version())
  // Where it ran (manifest only).
  int64_t run_id = 0, job_id = 0;
  std::string stage;
  nlohmann::json params = nlohmann::json::object();
  std::vector<nlohmann::json> inputs;  // {sha256, role}
};

inline constexpr const char* kManifestKeyword = "atelier";
inline constexpr const char* kTrainedAlgorithmicMedia =
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";

std::string parameters_text(const GenerationFacts& f);
// The `parameters` text a manifest's signed values give (its generation, base
// model and LoRAs), or nullopt with `why` naming the member that is missing or
// of the wrong type. The same text parameters_text wrote when it was signed.
std::optional<std::string> expected_parameters_text(const nlohmann::json& manifest,
                                                    std::string& why);
nlohmann::json manifest_json(const GenerationFacts& f, const media::Image& img,
                             int64_t created_at_ms);
// Encodes the image with both chunks; the manifest is signed with `key` when
// given, else its "signature" is null.
std::vector<std::uint8_t> encode_generated_png(const GenerationFacts& f, const media::Image& img,
                                               int64_t created_at_ms, const KeyPair* key = nullptr);
std::string format_cfg(double cfg);  // "7", "7.5"

}  // namespace atelier::provenance
