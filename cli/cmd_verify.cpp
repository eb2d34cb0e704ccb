// `atelier verify FILE [--regenerate]`: is this PNG what Atelier signed? Checks,
// each reported on its own so that the answer says which failed: the embedded
// manifest is there and is JSON; its Ed25519 signature matches its canonical
// form; the decoded pixels hash to its pixels_sha256; the signing key is one
// this workspace trusts (its own or imported). --regenerate (atelier-ml only)
// also re-runs the recorded generation and compares pixels.
//
// Exit codes (DESIGN.md s.7): 0 every check passed; 1 a check failed (no
// manifest, manifest not JSON, unsigned, signature invalid, pixels changed, key
// unknown, regenerated pixels differ); 2 the file cannot be read as a PNG (missing,
// not a PNG, malformed, over the metadata limits) or a recorded model is missing.
// Reading is bounded: the metadata reader refuses oversized text chunks from
// their headers, and pixels are decoded only from a file that passed it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "media/png_meta.h"
#include "common/errors.h"
#include "orchestrator/model_files.h"
#include "provenance/signing.h"
#include "verify.h"
#include "workers/generation/generation_record.h"

#ifdef ATELIER_WITH_ML
#include "ml/generator.h"
#endif

namespace atelier::cli {

namespace fs = std::filesystem;

namespace {

struct Finding {
  std::string check;   // manifest, signature, pixels, key, regenerate
  std::string status;  // e.g. valid, mismatch, changed, unknown
  std::string message;
  bool ok = false;
};

void print_text(const std::string& file, const std::vector<Finding>& findings, bool valid) {
  std::cout << file << ": " << (valid ? "valid" : "INVALID") << "\n";
  for (const Finding& f : findings)
    std::cout << "  " << (f.ok ? "ok  " : "FAIL") << " " << f.check << ": " << f.message << "\n";
}

// A text member, or `fallback` when it is missing or not text (the manifest is
// untrusted input: a wrong type is a finding, not an exception).
std::string text_or(const json& obj, const char* key, const std::string& fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string short_id(const std::string& sha) {
  return sha.substr(0, 16);
}

#ifdef ATELIER_WITH_ML
// Pixels follow from the recorded inputs only on the same libtorch: a manifest
// from another version explains a difference rather than hiding it.
std::string version_note(const json& manifest) {
  const std::string here = ml::torch_version();
  if (!manifest.contains("libtorch") || !manifest["libtorch"].is_string()) return "";
  const std::string then = manifest["libtorch"].get<std::string>();
  return then == here ? "" : "; drawn with libtorch " + then + ", redrawn with " + here;
}
#endif

}  // namespace

int cmd_verify(const Globals& g, const VerifyArgs& a) {
  const fs::path file = a.file;
  auto unreadable = [&](const std::string& why) -> int {
    if (g.json)
      std::cout << json{{"file", a.file}, {"valid", false}, {"unreadable", why}}.dump() << "\n";
    throw InputError(why);
  };
  std::error_code ec;
  if (!fs::exists(file, ec)) return unreadable(a.file + ": no such file");
  if (!fs::is_regular_file(file, ec)) return unreadable(a.file + ": not a regular file");

  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  workspace_signing_key(ws.dir(), *store);  // a workspace from before signing gets its key here

  media::PngInfo info;
  try {
    info = media::read_png_metadata_file(file);
  } catch (const media::ImageError& e) {
    std::string why = e.what();
    if (why.find("not a PNG file") != std::string::npos)
      why += " (verify reads the Atelier manifest embedded in PNG images)";
    return unreadable(why);
  }

  std::vector<Finding> findings;
  auto finish = [&]() {
    bool valid = true;
    for (const Finding& f : findings) valid = valid && f.ok;
    if (g.json) {
      json out = {{"file", a.file}, {"valid", valid}, {"checks", json::array()}};
      for (const Finding& f : findings)
        out["checks"].push_back(
            {{"check", f.check}, {"status", f.status}, {"ok", f.ok}, {"message", f.message}});
      std::cout << out.dump() << "\n";
    } else {
      print_text(a.file, findings, valid);
    }
    return valid ? 0 : 1;
  };

  const auto text = media::find_text(info, kManifestKeyword);
  if (!text) {
    findings.push_back({"manifest", "missing",
                        "no Atelier manifest (no iTXt chunk 'atelier'): not made by Atelier, or "
                        "its metadata was stripped"});
    return finish();
  }
  json manifest;
  std::string why;
  try {
    if (provenance::json_nesting_depth(*text) > provenance::kMaxManifestDepth)
      why = "the manifest (iTXt chunk 'atelier') nests deeper than " +
            std::to_string(provenance::kMaxManifestDepth) + " levels";
    else
      manifest = json::parse(*text);
    if (why.empty() && !manifest.is_object())
      why = "the manifest (iTXt chunk 'atelier') is not a JSON object";
  } catch (const json::parse_error& e) {
    why = std::string("the manifest (iTXt chunk 'atelier') is not JSON: ") + e.what();
  }
  if (!why.empty()) {
    findings.push_back({"manifest", "not_json", why});
    return finish();
  }
  findings.push_back({"manifest", "present",
                      "present (" + text_or(manifest, "format", "format unknown") + ")", true});

  // Signature over the canonical form, with the key the signature names.
  const auto sig = provenance::check_manifest_signature(manifest);
  switch (sig.status) {
    case provenance::SignatureCheck::valid:
      findings.push_back({"signature", "valid", "valid (Ed25519, key " + sig.key_id + ")", true});
      break;
    case provenance::SignatureCheck::unsigned_manifest:
      findings.push_back({"signature", "unsigned", "the manifest is not signed (signature: null)"});
      break;
    case provenance::SignatureCheck::malformed:
      findings.push_back({"signature", "malformed", "malformed: " + sig.reason});
      break;
    case provenance::SignatureCheck::mismatch:
      findings.push_back({"signature", "mismatch",
                          "does not match the manifest: the manifest was changed after it was "
                          "signed by key " +
                              sig.key_id});
      break;
  }

  // Pixels, as generation hashed them: decoded to RGB8.
  const json recorded = manifest.value("pixels_sha256", json());
  if (!recorded.is_string() || !is_sha256_hex(recorded.get<std::string>())) {
    findings.push_back(
        {"pixels", "not_recorded", "the manifest records no pixels_sha256 (64 hex digits)"});
  } else if (manifest.contains("pixels_format") && manifest["pixels_format"] != "rgb8") {
    findings.push_back({"pixels", "unknown_format",
                        "unknown pixels_format " + manifest["pixels_format"].dump() +
                            " (this atelier hashes rgb8)"});
  } else {
    media::Image img;
    try {
      img = media::read_png(file, 3);
    } catch (const media::ImageError& e) {
      return unreadable(e.what());
    }
    const std::string got = provenance::sha256_hex(img.pixels);
    const std::string want = recorded.get<std::string>();
    if (got == want)
      findings.push_back(
          {"pixels", "match", "match the manifest (sha256 " + short_id(got) + "...)", true});
    else
      findings.push_back({"pixels", "changed",
                          "changed: the decoded pixels hash to " + short_id(got) +
                              "..., the manifest records " + short_id(want) + "..."});
  }

  // Trust: only a valid signature says who signed.
  if (sig.status == provenance::SignatureCheck::valid) {
    const auto row = store->find_signing_key(sig.key_id);
    if (!row) {
      findings.push_back({"key", "unknown",
                          "signed by key " + sig.key_id +
                              ", which this workspace does not know (not its own key; "
                              "`atelier key import` trusts another workspace's key)"});
    } else if (row->public_key != provenance::to_hex(sig.public_key)) {
      findings.push_back({"key", "conflict",
                          "key " + sig.key_id +
                              " in the signature has another public key than the one this "
                              "workspace trusts under that id"});
    } else {
      findings.push_back({"key", row->origin,
                          sig.key_id + " (" +
                              (row->origin == "workspace"
                                   ? std::string("this workspace's key")
                                   : "imported" + (row->label.empty() ? "" : ": " + row->label)) +
                              ")",
                          true});
    }
  }

  if (a.regenerate) {
#ifdef ATELIER_WITH_ML
    Regenerated r = regenerate_from_manifest(manifest, ws, *store);
    const media::Image have = media::read_png(file, 3);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f", r.seconds);
    const std::string where = " (threads " + std::to_string(r.threads) + ", " + secs + " s)";
    if (have.width != r.image.width || have.height != r.image.height) {
      findings.push_back({"regenerate", "size",
                          "the regenerated image is " + std::to_string(r.image.width) + "x" +
                              std::to_string(r.image.height) + ", the file " +
                              std::to_string(have.width) + "x" + std::to_string(have.height)});
    } else {
      size_t differ = 0;
      int max_diff = 0;
      for (size_t p = 0; p + 2 < have.pixels.size(); p += 3) {
        bool d = false;
        for (size_t c = 0; c < 3; ++c) {
          const int delta = std::abs(int(have.pixels[p + c]) - int(r.image.pixels[p + c]));
          max_diff = std::max(max_diff, delta);
          d = d || delta != 0;
        }
        differ += d;
      }
      const size_t total = have.pixels.size() / 3;
      if (differ == 0)
        findings.push_back({"regenerate", "identical", "identical pixels" + where, true});
      else
        findings.push_back({"regenerate", "differ",
                            std::to_string(differ) + " of " + std::to_string(total) +
                                " pixels differ (largest channel difference " +
                                std::to_string(max_diff) + ")" + where + version_note(manifest)});
    }
#else
    throw std::logic_error("verify --regenerate runs in atelier-ml");  // main.cpp hands it over
#endif
  }
  return finish();
}

}  // namespace atelier::cli
