// Small helpers shared by the subcommands: opening the workspace named by the
// global flags, building a run from a spec, and id/time formatting.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "commands.h"
#include "orchestrator/orchestrator_loop.h"
#include "orchestrator/run_status.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"
#include "pipelines/spec.h"

namespace atelier::cli {

Workspace open_workspace(const Globals& g);

// Loads, validates and expands the spec; fills submitter and key. With a
// store, files the spec names are imported as assets (without, only checked).
NewRun prepare_run(const Workspace& ws, const SubmitArgs& a, PipelineSpec* spec_out = nullptr,
                   Store* store = nullptr);

// A model file outside a workspace: `ref` as a path, else REF.safetensors in the
// default model folders. Throws InputError("<what> 'ref' not found (looked in ...)").
std::filesystem::path find_model_file(const std::string& ref, const std::string& what);

std::string format_time(int64_t ms);

// The orchestrator's options for `run` and `serve`: pool sizes from
// "kind=N,..." (InputError naming an unknown kind), the binaries, and each
// kind's threads from the kind catalog.
OrchestratorOptions orchestrator_options(const std::string& workers);

}  // namespace atelier::cli
