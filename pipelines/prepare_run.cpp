// See prepare_run.h.
#include "pipelines/prepare_run.h"

#include "pipelines/imports.h"

namespace atelier {

NewRun prepare_run(const Workspace& ws, const RunRequest& r, PipelineSpec* spec_out, Store* store) {
  const auto max_jobs = static_cast<size_t>(ws.config().max_jobs_per_run);
  PipelineSpec spec = load_spec(r.spec, r.sets, {max_jobs});
  AssetStore files = ws.asset_store();
  const FileScope scope(ws.config(), r.confined);
  import_spec_files(spec, store ? &files : nullptr, store, &scope, r.submitter);
  NewRun run = expand_spec(spec, ws.config().max_attempts, max_jobs);
  run.spec_path = std::filesystem::absolute(r.spec).string();
  run.submitter = r.submitter;
  run.confined = r.confined;
  run.idem_key = r.key;
  if (spec_out) *spec_out = std::move(spec);
  return run;
}

}  // namespace atelier
