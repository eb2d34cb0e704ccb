// Small helpers shared by the subcommands: opening the workspace named by the
// global flags, building a run from a spec, and id/time formatting.
#pragma once
#include <memory>
#include <string>

#include "commands.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"
#include "pipelines/spec.h"

namespace atelier::cli {

Workspace open_workspace(const Globals& g);

// Loads, validates and expands the spec; fills submitter and key. With a
// store, files the spec names are imported as assets (without, only checked).
NewRun prepare_run(const Workspace& ws, const SubmitArgs& a, PipelineSpec* spec_out = nullptr,
                   Store* store = nullptr);

std::string format_time(int64_t ms);
json run_status_json(Store& store, const RunRow& run);

}  // namespace atelier::cli
