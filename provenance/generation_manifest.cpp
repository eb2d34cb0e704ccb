// Infotext and manifest for generated images; see generation_manifest.h.
#include "provenance/generation_manifest.h"

#include <sodium.h>

#include <cmath>
#include <cstdio>

#include "media/infotext.h"
#include "orchestrator/asset_store.h"
#include "provenance/manifest_format.h"

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
  for (const auto& kv : f.settings) t.params.push_back(kv);
  if (!f.loras.empty()) {
    // A1111's own form: "Lora hashes: "name: hash, name2: hash"" (first 12 hex).
    std::string hashes;
    for (const auto& l : f.loras)
      hashes += (hashes.empty() ? "" : ", ") + l.name + ": " +
                (l.a1111_hash.empty() ? l.sha256.substr(0, 12) : l.a1111_hash);
    t.params.push_back({"Lora hashes", hashes});
  }
  return media::format_infotext(t);
}

std::optional<std::string> expected_parameters_text(const nlohmann::json& m, std::string& why) {
  using nlohmann::json;
  auto member = [&](const json& obj, const char* key, const std::string& path,
                    bool (json::*is)() const noexcept) -> const json* {
    const auto it = obj.find(key);
    if (it == obj.end() || !((*it).*is)()) {
      why = "the manifest has no " + path + key + " of the right type";
      return nullptr;
    }
    return &*it;
  };
  const json* g = member(m, "generation", "", &json::is_object);
  const json* models = g ? member(m, "models", "", &json::is_array) : nullptr;
  if (!g || !models) return std::nullopt;
  GenerationFacts f;
  const json *prompt = member(*g, "prompt", "generation.", &json::is_string),
             *negative = member(*g, "negative_prompt", "generation.", &json::is_string),
             *steps = member(*g, "steps", "generation.", &json::is_number_integer),
             *sampler = member(*g, "sampler", "generation.", &json::is_string),
             *cfg = member(*g, "cfg", "generation.", &json::is_number),
             *seed = member(*g, "seed", "generation.", &json::is_number_integer),
             *width = member(*g, "width", "generation.", &json::is_number_integer),
             *height = member(*g, "height", "generation.", &json::is_number_integer);
  if (!prompt || !negative || !steps || !sampler || !cfg || !seed || !width || !height)
    return std::nullopt;
  f.prompt = prompt->get<std::string>();
  f.negative_prompt = negative->get<std::string>();
  f.steps = steps->get<int>();
  f.sampler = sampler->get<std::string>();
  f.cfg = cfg->get<double>();
  f.seed = seed->get<int64_t>();
  f.width = width->get<int>();
  f.height = height->get<int>();
  if (auto it = g->find("settings"); it != g->end()) {
    bool ok = it->is_array();
    for (const json& kv : ok ? *it : json::array()) {
      ok = ok && kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string();
      if (ok) f.settings.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
    if (!ok) {
      why = "the manifest's generation.settings is not a list of [name, value] strings";
      return std::nullopt;
    }
  }
  bool base = false;
  for (const json& e : *models) {
    const json *role = e.is_object() ? member(e, "role", "models[].", &json::is_string) : nullptr,
               *name = role ? member(e, "name", "models[].", &json::is_string) : nullptr,
               *sha = name ? member(e, "sha256", "models[].", &json::is_string) : nullptr;
    if (!sha) {
      if (!e.is_object()) why = "the manifest's models hold something other than objects";
      return std::nullopt;
    }
    if (*role == "base" && !base) {
      base = true;
      f.model_name = name->get<std::string>();
      f.model_sha256 = sha->get<std::string>();
    } else if (*role == "lora") {
      f.loras.push_back({name->get<std::string>(), sha->get<std::string>()});
      if (auto h = e.find("a1111_hash"); h != e.end() && h->is_string())
        f.loras.back().a1111_hash = h->get<std::string>();
    }
  }
  if (!base) {
    why = "the manifest names no base model";
    return std::nullopt;
  }
  return parameters_text(f);
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
  nlohmann::json generation = {{"prompt", f.prompt},
                               {"negative_prompt", f.negative_prompt},
                               {"steps", f.steps},
                               {"sampler", f.sampler},
                               {"cfg", f.cfg},
                               {"seed", f.seed},
                               {"width", f.width},
                               {"height", f.height},
                               {"threads", f.threads},
                               {"batch", f.batch},
                               {"batch_index", f.batch_index}};
  if (!f.settings.empty()) {
    nlohmann::json settings = nlohmann::json::array();
    for (const auto& [k, v] : f.settings) settings.push_back({k, v});
    generation["settings"] = settings;
  }
  nlohmann::json models = nlohmann::json::array(
      {{{"role", "base"}, {"name", f.model_name}, {"sha256", f.model_sha256}}});
  for (const auto& l : f.loras) {
    models.push_back(
        {{"role", "lora"}, {"name", l.name}, {"sha256", l.sha256}, {"scale", l.scale}});
    if (!l.a1111_hash.empty()) models.back()["a1111_hash"] = l.a1111_hash;
  }
  return {{"format", kGenerationFormat},
          {"software", "atelier 0.1.0"},
          {"digital_source_type", kTrainedAlgorithmicMedia},
          {"run", f.run_id},
          {"job", f.job_id},
          {"stage", f.stage},
          {"params", f.params},
          {"generation", generation},
          {"models", models},
          {"inputs", inputs},
          {"pixels_sha256", hex(h, sizeof h)},
          {"pixels_format", "rgb8"},
          {"libtorch", f.libtorch},
          {"created_at", created_at_ms},
          // The `parameters` chunk is text beside the manifest: its sha256 here
          // puts it under the signature.
          {"parameters_sha256", atelier::sha256_hex(parameters_text(f))},
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
