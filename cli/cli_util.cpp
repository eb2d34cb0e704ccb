#include "cli_util.h"

#include <map>

#include "common/errors.h"
#include "orchestrator/model_files.h"

#include <ctime>

#include "kinds/catalog.h"
#include "orchestrator/ids.h"
#include "orchestrator/time_text.h"
#include "pipelines/imports.h"
#include "pipelines/prepare_run.h"

namespace atelier::cli {

Workspace open_workspace(const Globals& g) {
  return Workspace::open(Workspace::resolve_dir(g.workspace));
}

NewRun prepare_run(const Workspace& ws, const SubmitArgs& a, PipelineSpec* spec_out, Store* store) {
  return atelier::prepare_run(ws, {a.spec, a.sets, a.key, current_actor()}, spec_out, store);
}

std::filesystem::path find_model_file(const std::string& ref, const std::string& what) {
  namespace fs = std::filesystem;
  fs::path file = ref;
  if (fs::exists(file)) return file;
  WorkspaceConfig c;
  c.models.clear();
  std::string looked;
  for (const auto& d : model_search_dirs(c)) {
    if (fs::exists(d / (ref + ".safetensors"))) return d / (ref + ".safetensors");
    looked += " " + d.string();
  }
  throw InputError(what + " '" + ref + "' not found (looked in" + looked + ")");
}

std::string format_time(int64_t ms) {
  return utc_iso(ms);
}

namespace {
std::map<std::string, int> parse_pools(const std::string& text) {
  std::map<std::string, int> pools;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    std::string item =
        text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto eq = item.find('=');
    if (eq == std::string::npos) throw InputError("--workers " + text + ": expected kind=N,...");
    const std::string kind = item.substr(0, eq);
    if (!find_kind(kind))
      throw InputError("--workers " + text + ": unknown kind '" + kind +
                       "' (known: " + known_kinds_list() + ")");
    try {
      pools[kind] = std::stoi(item.substr(eq + 1));
    } catch (const std::exception&) {
      throw InputError("--workers " + text + ": '" + item.substr(eq + 1) + "' is not a number");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return pools;
}

}  // namespace

OrchestratorOptions orchestrator_options(const std::string& workers) {
  OrchestratorOptions opts;
  opts.pools = parse_pools(workers);
  opts.exe = std::filesystem::read_symlink("/proc/self/exe").string();
  opts.ml_exe = ml_binary_path();
  for (const KindSpec& k : kind_catalog()) {
    opts.threads[k.name] = k.threads;
    if (k.binary != kLightBinary) opts.ml_kinds.insert(k.name);
  }
  // libtorch's OpenMP threads spin while they wait unless told otherwise, which
  // stalls them whenever another process holds a core (docs/models.md).
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  return opts;
}

}  // namespace atelier::cli
