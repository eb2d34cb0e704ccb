// The built-in `expand` kind: makes the jobs of a for_each or group_by stage
// once the stages it waits for have finished. It re-reads the run's own spec
// (as submitted, with its params), expands the stage from the jobs and outputs
// that now exist, and hands the new jobs to its completion, which inserts them
// and makes every job that waited for this stage wait for them too.
#include "../job_kind.h"
#include "common/errors.h"
#include "kinds/report.h"
#include "pipelines/spec.h"

namespace atelier {
namespace {

class ExpandKind final : public JobKind {
 public:
  void check_params(const json& params) const override { expand_kind().parse(params); }
  void run(JobContext& ctx) override {
    const std::string stage = expand_kind().parse(ctx.params()).stage;
    KindStore& store = ctx.store();
    auto run = store.run();
    if (!run) throw InputError("expand: run " + std::to_string(ctx.lease().run_id) + " is gone");
    std::vector<std::string> sets;
    for (auto it = run->params.begin(); it != run->params.end(); ++it)
      sets.push_back(it.key() + "=" + it->dump());
    SpecLimits limits{static_cast<size_t>(ctx.config().max_jobs_per_run)};
    PipelineSpec spec = parse_spec(run->spec_text, run->spec_path, sets, limits);
    const StageSpec* s = spec.stage(stage);
    if (!s) throw InputError(run->spec_path + ": the run's spec has no stage '" + stage + "'");
    std::map<std::string, std::vector<ExistingJob>> upstream;
    for (const std::string& u : s->upstream()) {
      for (const StageJob& j : store.stage_jobs(u)) {
        if (j.state == "succeeded") upstream[u].push_back({j.id, j.matrix, j.outputs});
      }
    }
    std::vector<NewJob> jobs =
        expand_deferred_stage(spec, stage, upstream, ctx.config().max_attempts, limits.max_jobs);
    ctx.log().info("stage {}: {} job(s)", stage, jobs.size());
    ctx.spawn(std::move(jobs));
  }
};

}  // namespace

std::unique_ptr<JobKind> make_expand_kind() {
  return std::make_unique<ExpandKind>();
}

}  // namespace atelier
