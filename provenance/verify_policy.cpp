// The verification policy; see verify_policy.h.
#include "provenance/verify_policy.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "media/infotext.h"
#include "media/png_meta.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/model_files.h"
#include "provenance/generation_manifest.h"
#include "provenance/signing.h"

namespace atelier::provenance {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string short_id(const std::string& sha) {
  return sha.substr(0, 16);
}

Finding signature_finding(const SignatureCheck& sig) {
  switch (sig.status) {
    case SignatureCheck::valid:
      return {"signature", "valid", "valid (Ed25519, key " + sig.key_id + ")", true};
    case SignatureCheck::unsigned_manifest:
      return {"signature", "unsigned", "the manifest is not signed (signature: null)"};
    case SignatureCheck::malformed:
      return {"signature", "malformed", "malformed: " + sig.reason};
    case SignatureCheck::mismatch:
      break;
  }
  return {"signature", "mismatch",
          "does not match the manifest: the manifest was changed after it was signed by key " +
              sig.key_id};
}

// Pixels, as generation hashed them: decoded to RGB8.
Finding pixels_finding(const json& manifest, const fs::path& file) {
  const json recorded = manifest.value("pixels_sha256", json());
  if (!recorded.is_string() || !is_sha256_hex(recorded.get<std::string>()))
    return {"pixels", "not_recorded", "the manifest records no pixels_sha256 (64 hex digits)"};
  if (manifest.contains("pixels_format") && manifest["pixels_format"] != "rgb8")
    return {"pixels", "unknown_format",
            "unknown pixels_format " + manifest["pixels_format"].dump() +
                " (this atelier hashes rgb8)"};
  media::Image img;
  try {
    img = media::read_png(file, 3);
  } catch (const media::ImageError& e) {
    throw Unreadable(e.what());
  }
  const std::string got = sha256_hex(img.pixels);
  const std::string want = recorded.get<std::string>();
  if (got == want)
    return {"pixels", "match", "match the manifest (sha256 " + short_id(got) + "...)", true};
  return {"pixels", "changed",
          "changed: the decoded pixels hash to " + short_id(got) + "..., the manifest records " +
              short_id(want) + "..."};
}

// Names the first signed value the `parameters` text does not carry: the field
// name is ours (from the signed values), never the file's text.
std::string first_difference(const std::string& have, const std::string& want) {
  const media::Infotext h = media::parse_infotext(have), w = media::parse_infotext(want);
  if (h.prompt != w.prompt) return "the prompt differs";
  if (h.negative_prompt != w.negative_prompt) return "the negative prompt differs";
  for (const auto& [key, value] : w.params)
    if (h.get(key) != value) return key + " differs";
  return "it holds text the signed values do not";
}

// The `parameters` chunk against what was signed. Format 2 signs the text's
// sha256; a format 1 record signs the prompt and settings it was made from, so
// the text those give (parameters_text, unchanged since manifests were signed)
// must be the chunk's. Exactly one chunk: a second would be unsigned text.
Finding parameters_finding(const json& manifest, const ManifestFormat& f,
                           const media::PngInfo& info) {
  const std::vector<std::string> texts = media::find_texts(info, "parameters");
  if (texts.size() > 1)
    return {"parameters", "ambiguous",
            "ambiguous: " + std::to_string(texts.size()) +
                " parameters chunks; a generated PNG carries one"};
  if (texts.empty())
    return {"parameters", "missing",
            "missing: the PNG has no parameters chunk, but the signed manifest describes one "
            "(removed after signing)"};
  std::string why;
  const std::optional<std::string> expected = expected_parameters_text(manifest, why);
  const std::string& have = texts[0];
  auto changed = [&] {
    return Finding{"parameters", "changed",
                   "changed: the parameters text differs from the signed values" +
                       (expected ? " (" + first_difference(have, *expected) + ")" : "")};
  };
  if (f.version >= 2) {
    const json recorded = manifest.value("parameters_sha256", json());
    if (!recorded.is_string() || !is_sha256_hex(recorded.get<std::string>()))
      return {"parameters", "not_recorded",
              "the manifest records no parameters_sha256 (64 hex digits)"};
    const std::string got = atelier::sha256_hex(have);
    if (got != recorded.get<std::string>()) return changed();
    return {"parameters", "match",
            "match the manifest's parameters_sha256 (" + short_id(got) + "...)", true};
  }
  if (!expected)
    return {"parameters", "not_recorded", "cannot be compared with the signed values: " + why};
  if (have != *expected) return changed();
  return {"parameters", "match",
          "match the manifest's prompt and settings (" + f.name +
              " records those, not the text itself)",
          true};
}

}  // namespace

bool VerifyResult::valid() const {
  return std::all_of(findings.begin(), findings.end(), [](const Finding& f) { return f.ok; });
}

json VerifyResult::to_json() const {
  json out = {{"file", file}, {"valid", valid()}, {"checks", json::array()}};
  for (const Finding& f : findings)
    out["checks"].push_back(
        {{"check", f.check}, {"status", f.status}, {"ok", f.ok}, {"message", f.message}});
  return out;
}

void require_regular_file(const fs::path& file, const std::string& shown_as) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Unreadable(shown_as + ": no such file");
  if (!fs::is_regular_file(file, ec)) throw Unreadable(shown_as + ": not a regular file");
}

VerifyResult verify_png(Store& store, const fs::path& file, const std::string& shown_as,
                        const Regenerator* regenerate) {
  require_regular_file(file, shown_as);
  media::PngInfo info;
  try {
    info = media::read_png_metadata_file(file);
  } catch (const media::ImageError& e) {
    std::string why = e.what();
    if (why.find("not a PNG file") != std::string::npos)
      why += " (verify reads the Atelier manifest embedded in PNG images)";
    throw Unreadable(why);
  }

  VerifyResult r;
  r.file = shown_as;
  const std::vector<std::string> texts = media::find_texts(info, kManifestKeyword);
  if (texts.empty()) {
    r.findings.push_back({"manifest", "missing",
                          "no Atelier manifest (no iTXt chunk 'atelier'): not made by Atelier, "
                          "or its metadata was stripped"});
    return r;
  }
  if (texts.size() > 1) {
    r.findings.push_back(
        {"manifest", "ambiguous",
         "ambiguous: " + std::to_string(texts.size()) +
             " Atelier manifests (iTXt chunks 'atelier'); a file carries one, and readers that "
             "take the first and the last would see different manifests"});
    return r;
  }
  ManifestText parsed = parse_manifest_text(texts[0], "the manifest (iTXt chunk 'atelier')");
  if (!parsed.value) {
    r.findings.push_back({"manifest", parsed.status, parsed.why});
    return r;
  }
  r.manifest = std::move(parsed.value);
  const json& manifest = *r.manifest;
  std::string why;
  const auto format = manifest_format(manifest, why);
  if (!format || format->kind != ManifestKind::generation) {
    if (format)
      why = format->name + " is not a generated image's manifest (a PNG carries atelier-manifest/" +
            "1 or /2)";
    r.findings.push_back({"manifest", "unknown_format", why});
    return r;
  }
  r.findings.push_back({"manifest", "present", "present (" + format->name + ")", true});
  const SignatureCheck sig = manifest_findings(manifest, *format, r.findings);
  r.findings.push_back(parameters_finding(manifest, *format, info));
  r.findings.push_back(pixels_finding(manifest, file));
  if (sig.status == SignatureCheck::valid) r.findings.push_back(key_finding(store, sig));

  if (regenerate) {
    const Regenerated redrawn = (*regenerate)(manifest);
    r.findings.push_back(compare_regenerated(media::read_png(file, 3), redrawn, manifest));
  }
  return r;
}

Finding key_finding(Store& store, const SignatureCheck& sig) {
  const auto row = store.find_signing_key(sig.key_id);
  if (!row)
    return {"key", "unknown",
            "signed by key " + sig.key_id +
                ", which this workspace does not know (not its own key; "
                "`atelier key import` trusts another workspace's key)"};
  if (row->public_key != to_hex(sig.public_key))
    return {"key", "conflict",
            "key " + sig.key_id +
                " in the signature has another public key than the one this "
                "workspace trusts under that id"};
  return {"key", row->origin,
          sig.key_id + " (" +
              (row->origin == "workspace"
                   ? std::string("this workspace's key")
                   : "imported" + (row->label.empty() ? "" : ": " + row->label)) +
              ")",
          true};
}

SignatureCheck manifest_findings(const json& manifest, const ManifestFormat& f,
                                 std::vector<Finding>& out, const std::string& prefix) {
  const std::vector<std::string> problems = field_problems(manifest, f);
  if (problems.empty()) {
    out.push_back({prefix + "fields", "known", "only the fields " + f.name + " defines", true});
  } else {
    std::string list;
    const std::size_t shown = std::min<std::size_t>(problems.size(), 5);
    for (std::size_t i = 0; i < shown; ++i) list += (i ? "; " : "") + problems[i];
    if (problems.size() > shown)
      list += "; and " + std::to_string(problems.size() - shown) + " more";
    out.push_back({prefix + "fields", "invalid", "not what " + f.name + " defines: " + list});
  }
  const SignatureCheck sig = check_manifest_signature(manifest);
  out.push_back(signature_finding(sig));
  out.back().check = prefix + out.back().check;
  return sig;
}

Finding compare_regenerated(const media::Image& have, const Regenerated& redrawn,
                            const json& manifest) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", redrawn.seconds);
  const std::string where = " (threads " + std::to_string(redrawn.threads) + ", " + secs + " s)";
  if (have.width != redrawn.image.width || have.height != redrawn.image.height)
    return {"regenerate", "size",
            "the regenerated image is " + std::to_string(redrawn.image.width) + "x" +
                std::to_string(redrawn.image.height) + ", the file " + std::to_string(have.width) +
                "x" + std::to_string(have.height)};
  size_t differ = 0;
  int max_diff = 0;
  for (size_t p = 0; p + 2 < have.pixels.size(); p += 3) {
    bool d = false;
    for (size_t c = 0; c < 3; ++c) {
      const int delta = std::abs(int(have.pixels[p + c]) - int(redrawn.image.pixels[p + c]));
      max_diff = std::max(max_diff, delta);
      d = d || delta != 0;
    }
    differ += d;
  }
  if (differ == 0) return {"regenerate", "identical", "identical pixels" + where, true};
  std::string version;
  if (manifest.contains("libtorch") && manifest["libtorch"].is_string() &&
      manifest["libtorch"].get<std::string>() != redrawn.libtorch)
    version = "; drawn with libtorch " + manifest["libtorch"].get<std::string>() +
              ", redrawn with " + redrawn.libtorch;
  const size_t total = have.pixels.size() / 3;
  return {"regenerate", "differ",
          std::to_string(differ) + " of " + std::to_string(total) +
              " pixels differ (largest channel difference " + std::to_string(max_diff) + ")" +
              where + version};
}

}  // namespace atelier::provenance
