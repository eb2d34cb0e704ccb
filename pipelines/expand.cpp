// Expansion of a validated spec into the jobs of one run.
#include <map>

#include "spec.h"

namespace atelier {

namespace {
// How many jobs a stage expands to: the product of its matrix list sizes.
size_t combination_count(const StageSpec& s) {
  size_t n = 1;
  for (const auto& [name, values] : s.matrix) n *= values.size();
  return n;
}

// Combination k of the matrix in mixed radix, the last name varying fastest.
// Built in place: a 20,000-job matrix makes each object once, with no copies.
json combination(const StageSpec& s, size_t k) {
  json::object_t o;
  for (size_t i = s.matrix.size(); i-- > 0;) {
    const auto& values = s.matrix[i].second;
    o.emplace(s.matrix[i].first, values[k % values.size()]);
    k /= values.size();
  }
  return json(std::move(o));
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
  size_t total = 0;
  for (const StageSpec& s : spec.stages) total += combination_count(s);
  run.jobs.reserve(total);
  for (const StageSpec* s : order) {
    std::vector<size_t> deps;
    for (const auto& n : s->needs) deps.insert(deps.end(), jobs_of[n].begin(), jobs_of[n].end());
    const size_t count = combination_count(*s);
    const auto params = std::make_shared<const json>(s->with);
    jobs_of[s->id].reserve(count);
    for (size_t k = 0; k < count; ++k) {
      NewJob& j = run.jobs.emplace_back();
      j.stage = s->id;
      j.kind = s->kind;
      j.params = params;
      j.matrix = combination(*s, k);
      j.priority = s->priority;
      j.max_attempts = s->retries >= 0 ? s->retries + 1 : default_max_attempts;
      j.timeout_ms = s->timeout_ms;
      j.deps = deps;
      jobs_of[s->id].push_back(run.jobs.size() - 1);
    }
  }
  return run;
}

}  // namespace atelier
