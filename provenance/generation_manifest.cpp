// Infotext and manifest for generated images; see generation_manifest.h.
#include "provenance/generation_manifest.h"

#include <sodium.h>

#include <cmath>
#include <cstdio>

#include "media/infotext.h"

namespace atelier::provenance {

std::string format_cfg(double cfg) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", cfg);
  return buf;
}

std::string parameters_text(const GenerationFacts& f) {
  media::Infotext t;
  t.prompt = f.prompt;
  t.negative_prompt = f.negative_prompt;
  t.params = {{"Steps", std::to_string(f.steps)},
              {"Sampler", f.sampler},
              {"CFG scale", format_cfg(f.cfg)},
              {"Seed", std::to_string(f.seed)},
              {"Size", std::to_string(f.width) + "x" + std::to_string(f.height)},
              {"Model hash", f.model_sha256.substr(0, 10)},
              {"Model", f.model_name}};
  if (!f.loras.empty()) {
    // A1111's own form: "Lora hashes: "name: hash, name2: hash"" (first 12 hex).
    std::string hashes;
    for (const auto& l : f.loras)
      hashes += (hashes.empty() ? "" : ", ") + l.name + ": " + l.sha256.substr(0, 12);
    t.params.push_back({"Lora hashes", hashes});
  }
  return media::format_infotext(t);
}

namespace {
std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}
// tEXt holds Latin-1 only; A1111 falls back to iTXt for anything else.
bool fits_latin1(const std::string& utf8) {
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) continue;
    if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      ++i;
      continue;
    }
    return false;
  }
  return true;
}
}  // namespace

nlohmann::json manifest_json(const GenerationFacts& f, const media::Image& img,
                             int64_t created_at_ms) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, img.pixels.data(), img.pixels.size());
  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& i : f.inputs) inputs.push_back(i);
  nlohmann::json models = nlohmann::json::array(
      {{{"role", "base"}, {"name", f.model_name}, {"sha256", f.model_sha256}}});
  for (const auto& l : f.loras)
    models.push_back(
        {{"role", "lora"}, {"name", l.name}, {"sha256", l.sha256}, {"scale", l.scale}});
  return {{"format", "atelier-manifest/1"},
          {"software", "atelier 0.1.0"},
          {"digital_source_type", kTrainedAlgorithmicMedia},
          {"run", f.run_id},
          {"job", f.job_id},
          {"stage", f.stage},
          {"params", f.params},
          {"generation",
           {{"prompt", f.prompt},
            {"negative_prompt", f.negative_prompt},
            {"steps", f.steps},
            {"sampler", f.sampler},
            {"cfg", f.cfg},
            {"seed", f.seed},
            {"width", f.width},
            {"height", f.height},
            {"threads", f.threads},
            {"batch", f.batch},
            {"batch_index", f.batch_index}}},
          {"models", models},
          {"inputs", inputs},
          {"pixels_sha256", hex(h, sizeof h)},
          {"pixels_format", "rgb8"},
          {"libtorch", f.libtorch},
          {"created_at", created_at_ms},
          {"signature", nullptr}};
}

std::vector<std::uint8_t> encode_generated_png(const GenerationFacts& f, const media::Image& img,
                                               int64_t created_at_ms, const KeyPair* key) {
  std::vector<media::PngText> texts;
  auto params = parameters_text(f);
  const bool intl = !fits_latin1(params);
  texts.push_back({"parameters", std::move(params), intl});
  auto manifest = manifest_json(f, img, created_at_ms);
  if (key) manifest = sign_manifest(std::move(manifest), *key);
  texts.push_back({kManifestKeyword, manifest.dump(), true});
  return media::encode_png(img, texts);
}

}  // namespace atelier::provenance
