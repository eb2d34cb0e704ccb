// The verification policy behind `atelier verify`: is this PNG what Atelier
// signed? Each check is a finding of its own, so the answer says which failed:
// the embedded manifest is there and is a JSON object; its Ed25519 signature
// matches its canonical form; the decoded pixels hash to its pixels_sha256; the
// signing key is one the workspace trusts (its own or imported); and, when a
// regenerator is given, the recorded generation drawn again gives the same pixels.
//
// Invariants: the file is untrusted input. Reading is bounded (the metadata
// reader refuses oversized text chunks from their headers, a manifest nested
// deeper than kMaxManifestDepth is refused before parsing, pixels are decoded
// only from a file that passed the metadata reader), and a manifest member of
// the wrong type is a finding, never an exception. A file that cannot be read as
// a PNG at all is Unreadable, not a finding: there is nothing to judge. The
// verdict is valid exactly when every finding is ok; a missing or unparsable
// manifest ends the checks, since the others read it.
//
// Redrawing needs libtorch, which this library never links: the caller passes a
// Regenerator (atelier-ml's cmd_regenerate.cpp); the comparison is decided here.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "media/png_io.h"
#include "common/errors.h"
#include "orchestrator/store.h"

namespace atelier::provenance {

// The file is missing, not a regular file, not a PNG, malformed or over the
// metadata limits (exit 2 in the CLI).
class Unreadable : public InputError {
 public:
  using InputError::InputError;
};

struct Finding {
  std::string check;   // manifest, signature, pixels, key, regenerate
  std::string status;  // e.g. present, valid, mismatch, changed, unknown
  std::string message;
  bool ok = false;
};

struct VerifyResult {
  std::string file;  // as the caller named it
  std::vector<Finding> findings;
  std::optional<nlohmann::json> manifest;  // when present and a JSON object

  bool valid() const;
  // {"file", "valid", "checks": [{"check", "status", "ok", "message"}]}
  nlohmann::json to_json() const;
};

// What redrawing the recorded generation gave.
struct Regenerated {
  media::Image image;  // RGB8, as pixels_sha256 hashes it
  std::string model_file;
  int threads = 0;
  double seconds = 0;
  std::string libtorch;  // the version that redrew it
};
// Throws InputError naming the manifest field or the model it cannot find.
using Regenerator = std::function<Regenerated(const nlohmann::json& manifest)>;

// Unreadable unless `file` exists and is a regular file (checked before the
// workspace is opened, so that a wrong path is named first).
void require_regular_file(const std::filesystem::path& file, const std::string& shown_as);

// Runs the checks above on `file` against the store's trusted keys. `shown_as`
// is the name findings and the result use. Throws Unreadable (see above).
VerifyResult verify_png(Store& store, const std::filesystem::path& file,
                        const std::string& shown_as, const Regenerator* regenerate = nullptr);

// The regenerate finding: identical pixels pass; otherwise how many pixels differ
// and by how much, with the libtorch versions when they differ (pixels follow
// from the recorded inputs only on the same libtorch).
Finding compare_regenerated(const media::Image& have, const Regenerated& redrawn,
                            const nlohmann::json& manifest);

}  // namespace atelier::provenance
