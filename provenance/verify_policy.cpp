// The verification policy; see verify_policy.h.
#include "provenance/verify_policy.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "media/png_meta.h"
#include "orchestrator/model_files.h"
#include "provenance/generation_manifest.h"
#include "provenance/signing.h"

namespace atelier::provenance {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A text member, or `fallback` when it is missing or not text.
std::string text_or(const json& obj, const char* key, const std::string& fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string short_id(const std::string& sha) {
  return sha.substr(0, 16);
}

// The manifest text parsed, or why it cannot be judged.
std::optional<json> parse_manifest(const std::string& text, std::string& why) {
  json manifest;
  try {
    if (json_nesting_depth(text) > kMaxManifestDepth)
      why = "the manifest (iTXt chunk 'atelier') nests deeper than " +
            std::to_string(kMaxManifestDepth) + " levels";
    else
      manifest = json::parse(text);
    if (why.empty() && !manifest.is_object())
      why = "the manifest (iTXt chunk 'atelier') is not a JSON object";
  } catch (const json::parse_error& e) {
    why = std::string("the manifest (iTXt chunk 'atelier') is not JSON: ") + e.what();
  }
  if (!why.empty()) return std::nullopt;
  return manifest;
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

// Trust: asked only of a valid signature, the only kind that says who signed.
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
  const auto text = media::find_text(info, kManifestKeyword);
  if (!text) {
    r.findings.push_back({"manifest", "missing",
                          "no Atelier manifest (no iTXt chunk 'atelier'): not made by Atelier, "
                          "or its metadata was stripped"});
    return r;
  }
  std::string why;
  r.manifest = parse_manifest(*text, why);
  if (!r.manifest) {
    r.findings.push_back({"manifest", "not_json", why});
    return r;
  }
  const json& manifest = *r.manifest;
  r.findings.push_back({"manifest", "present",
                        "present (" + text_or(manifest, "format", "format unknown") + ")", true});

  const SignatureCheck sig = check_manifest_signature(manifest);
  r.findings.push_back(signature_finding(sig));
  r.findings.push_back(pixels_finding(manifest, file));
  if (sig.status == SignatureCheck::valid) r.findings.push_back(key_finding(store, sig));

  if (regenerate) {
    const Regenerated redrawn = (*regenerate)(manifest);
    r.findings.push_back(compare_regenerated(media::read_png(file, 3), redrawn, manifest));
  }
  return r;
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
