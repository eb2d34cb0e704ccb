// Expansion of a validated spec into the jobs of one run.
#include <map>

#include "spec.h"

namespace atelier {

namespace {
// Every combination of the matrix values, in spec order (the last name varies fastest).
std::vector<json> combinations(const StageSpec& s) {
  std::vector<json> out{json::object()};
  for (const auto& [name, values] : s.matrix) {
    std::vector<json> next;
    next.reserve(out.size() * values.size());
    for (const json& partial : out) {
      for (const json& v : values) {
        json c = partial;
        c[name] = v;
        next.push_back(std::move(c));
      }
    }
    out = std::move(next);
  }
  return out;
}
}  // namespace

NewRun expand_spec(const PipelineSpec& spec, int default_max_attempts) {
  NewRun run;
  run.name = spec.name;
  run.spec_path = spec.path;
  run.spec_text = spec.text;
  run.spec_sha256 = spec.sha256;
  run.params = spec.params;
  std::map<std::string, std::vector<size_t>> jobs_of;
  // Stages in dependency order, so a job's deps are indices already known.
  std::vector<const StageSpec*> order;
  std::map<std::string, bool> placed;
  while (order.size() < spec.stages.size()) {
    for (const StageSpec& s : spec.stages) {
      if (placed[s.id]) continue;
      bool ready = true;
      for (const auto& n : s.needs) ready = ready && placed[n];
      if (ready) {
        order.push_back(&s);
        placed[s.id] = true;
      }
    }
  }
  for (const StageSpec* s : order) {
    std::vector<size_t> deps;
    for (const auto& n : s->needs) deps.insert(deps.end(), jobs_of[n].begin(), jobs_of[n].end());
    for (json& combo : combinations(*s)) {
      NewJob j;
      j.stage = s->id;
      j.kind = s->kind;
      j.params = s->with;
      j.matrix = std::move(combo);
      j.priority = s->priority;
      j.max_attempts = s->retries >= 0 ? s->retries + 1 : default_max_attempts;
      j.timeout_ms = s->timeout_ms;
      j.deps = deps;
      jobs_of[s->id].push_back(run.jobs.size());
      run.jobs.push_back(std::move(j));
    }
  }
  return run;
}

}  // namespace atelier
