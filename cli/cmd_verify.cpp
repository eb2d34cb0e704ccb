// `atelier verify FILE [--regenerate]`: is this PNG what Atelier signed? The
// checks and their verdict are provenance/verify_policy.h's; this command opens
// the workspace, hands atelier-ml's redraw to the policy for --regenerate, and
// prints each finding.
//
// Exit codes (DESIGN.md s.7): 0 every check passed; 1 a check failed (no
// manifest, manifest not JSON, unsigned, signature invalid, pixels changed, key
// unknown, regenerated pixels differ); 2 the file cannot be read as a PNG (missing,
// not a PNG, malformed, over the metadata limits) or a recorded model is missing.
#include <filesystem>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "provenance/verify_policy.h"
#include "provenance/workspace_key.h"

namespace atelier::cli {

namespace {

void print_text(const provenance::VerifyResult& r) {
  std::cout << r.file << ": " << (r.valid() ? "valid" : "INVALID") << "\n";
  for (const provenance::Finding& f : r.findings)
    std::cout << "  " << (f.ok ? "ok  " : "FAIL") << " " << f.check << ": " << f.message << "\n";
}

}  // namespace

int cmd_verify(const Globals& g, const VerifyArgs& a) {
  const std::filesystem::path file = a.file;
  provenance::VerifyResult result;
  try {
    provenance::require_regular_file(file, a.file);
    Workspace ws = open_workspace(g);
    auto store = ws.open_store();
    // A workspace from before signing gets its key here.
    provenance::workspace_signing_key(ws.dir(), *store);
    std::optional<provenance::Regenerator> regenerate;
    if (a.regenerate) {
      const auto redraw = ml_commands().regenerate;
      if (!redraw)  // cli_main hands --regenerate to atelier-ml first
        throw std::logic_error("verify --regenerate runs in atelier-ml");
      regenerate = [&, redraw](const json& manifest) { return redraw(manifest, ws, *store); };
    }
    result = provenance::verify_png(*store, file, a.file, regenerate ? &*regenerate : nullptr);
  } catch (const provenance::Unreadable& e) {
    if (g.json)
      std::cout << json{{"file", a.file}, {"valid", false}, {"unreadable", e.what()}}.dump()
                << "\n";
    throw InputError(e.what());
  }
  if (g.json)
    std::cout << result.to_json().dump() << "\n";
  else
    print_text(result);
  return result.valid() ? 0 : 1;
}

}  // namespace atelier::cli
