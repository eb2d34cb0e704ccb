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
      for (AssetRow& a : store.job_output_assets(j.id)) {
        const bool own = a.job_id && *a.job_id == j.id;
        const bool made_here = own && seen.insert(a.sha256).second;
        outputs.push_back({std::move(a), made_here});
      }
      visit(j, outputs);
    }
    if (page.size() < static_cast<size_t>(f.limit)) break;
  }
}

}  // namespace atelier
