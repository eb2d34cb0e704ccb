// The verification policy behind `atelier verify`: is this PNG what Atelier
// signed, all of it? Each check is a finding of its own, so the answer says which
// failed: the embedded manifest is there, once, and reads one way only
// (manifest_format.h: no repeated key, a known format); it holds only the fields
// its format defines (fields); its Ed25519 signature matches its canonical form;
// the `parameters` text is the signed one (parameters: format 2 signs its sha256,
// format 1 records are compared with the signed prompt and settings); the decoded
// pixels hash to its pixels_sha256; the signing key is one the workspace trusts
// (its own or imported); and, when a regenerator is given, the recorded
// generation drawn again gives the same pixels.
//
// Invariants: the file is untrusted input. Reading is bounded (the metadata
// reader refuses oversized text chunks from their headers, a manifest nested
// deeper than kMaxManifestDepth is refused before parsing, pixels are decoded
// only from a file that passed the metadata reader), and a manifest member of
// the wrong type is a finding, never an exception. A file that cannot be read as
// a PNG at all is Unreadable, not a finding: there is nothing to judge. The
// verdict is valid exactly when every finding is ok, so nothing the signature
// does not cover (a second manifest, an edited or removed `parameters` chunk,
// an extra member of the signature) can ride along with a valid one. A missing,
// unparsable or ambiguous manifest, or one of an unknown format, ends the
// checks, since the others read it.
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

#include "common/errors.h"
#include "media/png_io.h"
#include "orchestrator/store.h"
#include "provenance/manifest_format.h"
#include "provenance/signing.h"

namespace atelier::provenance {

// The file is missing, not a regular file, not a PNG, malformed or over the
// metadata limits (exit 2 in the CLI).
class Unreadable : public InputError {
 public:
  using InputError::InputError;
};

struct Finding {
  std::string check;   // manifest, fields, signature, parameters, pixels, key, regenerate
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

// The checks of a manifest that do not depend on the file that carries it,
// appended to `out` with each check named `prefix` + its name: fields (what its
// format defines) and signature. Returns the signature's check, for key_finding.
// Used for embedded and sidecar manifests alike.
SignatureCheck manifest_findings(const nlohmann::json& manifest, const ManifestFormat& f,
                                 std::vector<Finding>& out, const std::string& prefix = "");
// Trust: asked only of a valid signature, the only kind that says who signed.
Finding key_finding(Store& store, const SignatureCheck& sig);

// The regenerate finding: identical pixels pass; otherwise how many pixels differ
// and by how much, with the libtorch versions when they differ (pixels follow
// from the recorded inputs only on the same libtorch).
Finding compare_regenerated(const media::Image& have, const Regenerated& redrawn,
                            const nlohmann::json& manifest);

}  // namespace atelier::provenance
