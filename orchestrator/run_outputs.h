// Reading a run's outputs job by job: the one walk that the run report, export
// and the dashboard share. A check stage forwards the assets its gate let
// through under their upstream names, so the same bytes appear as outputs of
// several jobs; each asset is listed with the job that made it, once per run.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "orchestrator/store.h"

namespace atelier {

struct JobOutput {
  AssetRow asset;
  // The job made these bytes (they were not among its inputs) and no earlier job
  // of the run did: the output's place in the run's deliverables. False for a
  // forwarded upstream asset or a repeat of bytes an earlier job of the run made.
  // Bytes an earlier run made too still count: each run delivers all it made.
  bool made_here = false;
};

// Pages through every job of `run_id` in id order (any state) and hands each to
// `visit` with all its outputs, in output order. A page of jobs costs two store
// reads (Store::outputs_of_jobs, inputs_of_jobs), not two per job.
void visit_run_outputs(
    Store& store, int64_t run_id,
    const std::function<void(JobRow& job, const std::vector<JobOutput>& outputs)>& visit);

}  // namespace atelier
