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
    // Each stretch of consecutive ids (a run's jobs are id ranges) in two reads.
    for (size_t begin = 0; begin < page.size();) {
      size_t end = begin + 1;
      while (end < page.size() && page[end].id == page[end - 1].id + 1) ++end;
      const auto outs = store.outputs_of_jobs(page[begin].id, page[end - 1].id);
      const auto ins = store.inputs_of_jobs(page[begin].id, page[end - 1].id);
      size_t o = 0, i = 0;
      for (size_t k = begin; k < end; ++k) {
        JobRow& j = page[k];
        // Forwarded means the job received these bytes as an input (a check
        // passes on what its gate let through). The asset row's producer is not
        // the test: it names the first job ever to make the bytes, maybe in an
        // earlier run (the same spec and seeds give the same bytes), and this run
        // made them too.
        std::set<std::string> inputs;
        for (; i < ins.size() && ins[i].first == j.id; ++i) inputs.insert(ins[i].second.sha256);
        std::vector<JobOutput> outputs;
        for (; o < outs.size() && outs[o].first == j.id; ++o) {
          const AssetRow& a = outs[o].second;
          const bool own = !inputs.count(a.sha256);
          const bool made_here = own && seen.insert(a.sha256).second;
          outputs.push_back({a, made_here});
        }
        visit(j, outputs);
      }
      begin = end;
    }
    if (page.empty()) break;
    f.after_id = page.back().id;
    if (page.size() < static_cast<size_t>(f.limit)) break;
  }
}

}  // namespace atelier
