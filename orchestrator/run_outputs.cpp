// See run_outputs.h.
#include "orchestrator/run_outputs.h"

#include <set>
#include <string>

namespace atelier {

void visit_run_outputs(
    Store& store, int64_t run_id,
    const std::function<void(JobRow& job, const std::vector<JobOutput>& outputs)>& visit) {
  std::set<std::string> seen;
  for (JobFilter f{.run_id = run_id};;) {
    auto page = store.list_jobs(f);
    for (JobRow& j : page) {
      f.after_id = j.id;
      std::vector<JobOutput> outputs;
      // Forwarded means the job received these bytes as an input (a check passes
      // on what its gate let through). The asset row's producer is not the test:
      // it names the first job ever to make the bytes, maybe in an earlier run
      // (the same spec and seeds give the same bytes), and this run made them too.
      std::set<std::string> inputs;
      for (const InputRef& in : store.job_inputs(j.id)) inputs.insert(in.sha256);
      for (AssetRow& a : store.job_output_assets(j.id)) {
        const bool own = !inputs.count(a.sha256);
        const bool made_here = own && seen.insert(a.sha256).second;
        outputs.push_back({std::move(a), made_here});
      }
      visit(j, outputs);
    }
    if (page.size() < static_cast<size_t>(f.limit)) break;
  }
}

}  // namespace atelier
