// The signed prompt of a PNG; see embedded_prompt.h.
#include "provenance/embedded_prompt.h"

#include <algorithm>
#include <vector>

#include "media/infotext.h"
#include "media/png_meta.h"
#include "provenance/generation_manifest.h"
#include "provenance/manifest_format.h"
#include "provenance/signing.h"

namespace atelier::provenance {

using nlohmann::json;

namespace {

// The manifest's prompt when it is the one manifest, strictly read; nullopt
// otherwise. `key_id` is set when a trusted key's valid signature covers it.
std::optional<std::string> manifest_prompt(Store& store, const media::PngInfo& info,
                                           std::string& key_id) {
  const std::vector<std::string> texts = media::find_texts(info, kManifestKeyword);
  if (texts.size() != 1) return std::nullopt;
  const ManifestText parsed = parse_manifest_text(texts[0], "the manifest");
  if (!parsed.value) return std::nullopt;
  const json& m = *parsed.value;
  const auto g = m.find("generation");
  if (g == m.end() || !g->is_object() || !g->contains("prompt") || !(*g)["prompt"].is_string())
    return std::nullopt;
  std::string why;
  const auto format = manifest_format(m, why);
  if (format && format->kind == ManifestKind::generation && field_problems(m, *format).empty()) {
    const SignatureCheck sig = check_manifest_signature(m);
    if (sig.status == SignatureCheck::valid) {
      const auto row = store.find_signing_key(sig.key_id);
      if (row && row->public_key == to_hex(sig.public_key)) key_id = sig.key_id;
    }
  }
  return (*g)["prompt"].get<std::string>();
}

}  // namespace

std::optional<EmbeddedPrompt> embedded_prompt(Store& store, const std::filesystem::path& file) {
  media::PngInfo info;
  try {
    info = media::read_png_metadata_file(file);
  } catch (const std::exception&) {
    return std::nullopt;  // not a PNG, or one the strict reader refuses: no claim read
  }
  std::string key_id;
  const std::optional<std::string> from_manifest = manifest_prompt(store, info, key_id);
  if (from_manifest && !key_id.empty())
    return EmbeddedPrompt{*from_manifest, key_id, "signed manifest (key " + key_id + ")"};

  std::vector<std::string> claims;
  const std::vector<std::string> parameters = media::find_texts(info, "parameters");
  for (const std::string& t : parameters) claims.push_back(media::parse_infotext(t).prompt);
  if (from_manifest) claims.push_back(*from_manifest);
  std::vector<std::string> distinct;
  for (std::string& c : claims)
    if (std::find(distinct.begin(), distinct.end(), c) == distinct.end())
      distinct.push_back(std::move(c));
  if (distinct.empty()) return std::nullopt;
  EmbeddedPrompt out;
  for (const std::string& c : distinct) out.text += (out.text.empty() ? "" : "\n") + c;
  out.source = !from_manifest       ? "unsigned parameters chunk"
               : parameters.empty() ? "unverified manifest"
                                    : "unverified manifest and parameters chunk";
  return out;
}

}  // namespace atelier::provenance
