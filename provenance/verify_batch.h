// `atelier verify` on many files at once: a run of this workspace (`verify r12`)
// or a folder `atelier export` wrote (`verify deliver/`). Each file gets the
// findings of verify_policy.h under its own name; a file that should be there and
// is not is a finding of its own ("file: missing", naming the path it was
// expected at), and every other file is still verified.
//
// A run: every image and video the run made (each once, with the job that made
// it, as export lists them). The stored bytes must hash to the asset's sha256; a
// generated PNG (or any PNG that carries an Atelier manifest) gets every check of
// verify_png; a video, its signed sidecar manifest (video-WxH.manifest.json:
// fields, signature, key, and that it names this video's sha256); anything else
// (a video's poster) is stated as not signed, its bytes vouched for by the
// workspace's record alone.
//
// An export folder: every file index.json lists, and every NAME.manifest.json in
// the folder whether listed or not (index.json is not signed, so a sidecar is not
// left out by leaving it out of the index). Each sidecar must read one way, hold
// only its format's fields and carry a valid signature by a trusted key; the file
// it names (a plain name in the folder) must hash to its signed sha256; a PNG
// with an embedded manifest also gets verify_png's checks, prefixed "embedded_".
// What index.json lists as missing at export time is missing here too.
//
// Invariants: names from index.json or a sidecar are used only as plain file
// names inside the folder (no '/', no "..", regular files only), and a sidecar
// over kMaxSidecarBytes is not read; the verdict is valid only when every file is
// there and valid.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "orchestrator/asset_store.h"
#include "orchestrator/store.h"
#include "provenance/verify_policy.h"

namespace atelier::provenance {

inline constexpr std::uintmax_t kMaxSidecarBytes = 8u << 20;

struct BatchResult {
  std::string target;  // as the caller named it
  std::vector<VerifyResult> files;

  bool valid() const;
  // The files that are not there (their "file" finding is "missing").
  std::vector<std::string> missing() const;
  // {"target", "valid", "files": [VerifyResult::to_json()...], "missing": [names]}
  nlohmann::json to_json() const;
};

// Throws NotFound for a run that does not exist.
BatchResult verify_run(Store& store, const AssetStore& files, int64_t run_id,
                       const std::string& shown_as);
// Throws Unreadable when `dir` has no readable index.json (not an export folder).
BatchResult verify_export_dir(Store& store, const std::filesystem::path& dir,
                              const std::string& shown_as);

}  // namespace atelier::provenance
