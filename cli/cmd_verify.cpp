// `atelier verify FILE|RUN|DIR [--regenerate]`: is this what Atelier signed? The
// checks and their verdict are provenance/verify_policy.h's (one PNG) and
// verify_batch.h's (a run's files, an export folder); this command opens the
// workspace, hands atelier-ml's redraw to the policy for --regenerate, and prints
// each finding.
//
// TARGET: a path that exists is a file (a PNG) or a folder (an export); a
// target that is no path but a run id (r12) names a run of the workspace.
//
// Exit codes (DESIGN.md s.7): 0 every check passed; 1 a check failed (no
// manifest, an ambiguous one, unknown fields, unsigned, signature invalid,
// parameters or pixels changed, key unknown, regenerated pixels differ, a file of
// a run or export missing); 2 the target cannot be read (no such file or run, not
// a PNG, malformed, over the metadata limits, a folder without index.json) or a
// recorded model is missing.
#include <filesystem>
#include <iostream>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "orchestrator/ids.h"
#include "provenance/verify_batch.h"
#include "provenance/verify_policy.h"
#include "provenance/workspace_key.h"

namespace atelier::cli {

namespace {

namespace fs = std::filesystem;

void print_text(const provenance::VerifyResult& r) {
  std::cout << r.file << ": " << (r.valid() ? "valid" : "INVALID") << "\n";
  for (const provenance::Finding& f : r.findings)
    std::cout << "  " << (f.ok ? "ok  " : "FAIL") << " " << f.check << ": " << f.message << "\n";
}

void print_batch(const provenance::BatchResult& b) {
  for (const provenance::VerifyResult& r : b.files) print_text(r);
  std::size_t valid = 0;
  for (const provenance::VerifyResult& r : b.files) valid += r.valid();
  const auto missing = b.missing();
  std::cout << b.target << ": " << (b.valid() ? "valid" : "INVALID") << " (" << valid << " of "
            << b.files.size() << " file(s) valid";
  if (!missing.empty()) std::cout << ", " << missing.size() << " missing";
  std::cout << ")\n";
  // The missing files once more on stderr, where a script's log keeps them.
  for (const provenance::VerifyResult& r : b.files)
    for (const provenance::Finding& f : r.findings)
      if (f.check == "file" && f.status == "missing")
        std::cerr << "atelier: verify: " << r.file << ": " << f.message << "\n";
}

// A run id given as the target: only the r<number> form, and only when no file
// of that name exists, so that a path is never read as a run.
std::optional<int64_t> run_target(const std::string& target) {
  std::error_code ec;
  if (target.size() < 2 || target[0] != 'r' || fs::exists(target, ec)) return std::nullopt;
  try {
    return parse_run_id(target);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

}  // namespace

int cmd_verify(const Globals& g, const VerifyArgs& a) {
  const fs::path file = a.file;
  std::error_code ec;
  const bool dir = fs::is_directory(file, ec);
  const std::optional<int64_t> run = run_target(a.file);
  if ((dir || run) && a.regenerate)
    throw InputError("verify: --regenerate redraws one image; give a PNG, not a run or folder");
  if (dir || run) {
    Workspace ws = open_workspace(g);
    auto store = ws.open_store();
    provenance::workspace_signing_key(ws.dir(), *store);
    provenance::BatchResult result;
    try {
      result = run ? provenance::verify_run(*store, ws.asset_store(), *run, a.file)
                   : provenance::verify_export_dir(*store, file, a.file);
    } catch (const provenance::Unreadable& e) {
      if (g.json)
        std::cout << json{{"target", a.file}, {"valid", false}, {"unreadable", e.what()}}.dump()
                  << "\n";
      throw InputError(e.what());
    }
    if (g.json)
      std::cout << result.to_json().dump() << "\n";
    else
      print_batch(result);
    return result.valid() ? 0 : 1;
  }

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
