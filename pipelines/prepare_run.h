// From a spec file to the run to submit: load and validate it with the
// workspace's limits, import the files it names (into the asset store when a
// store is given; otherwise only checked), and expand it into jobs. The one
// path every submitter takes: `atelier submit`/`run`, the scheduler's fires,
// and the dashboard's submit action.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/store.h"
#include "orchestrator/workspace.h"
#include "pipelines/spec.h"

namespace atelier {

struct RunRequest {
  std::filesystem::path spec;
  std::vector<std::string> sets;   // "key=value", as --set gives them
  std::optional<std::string> key;  // idempotency key
  std::string submitter;
  // Came over the API (or from a schedule added over it): the spec's files and
  // outputs are confined to the workspace and the configured roots (file_scope.h).
  bool confined = false;
};

NewRun prepare_run(const Workspace& ws, const RunRequest& r, PipelineSpec* spec_out = nullptr,
                   Store* store = nullptr);

}  // namespace atelier
