// Expansion of a validated spec into jobs: the static part at submission, and
// each deferred stage when its expand job runs. Pure logic: no database, no files.
#include <algorithm>
#include <map>

#include "common/errors.h"
#include "prompt_template.h"
#include "spec.h"
#include "kinds/catalog.h"

namespace atelier {

std::vector<std::string> StageSpec::upstream() const {
  std::vector<std::string> out = needs;
  if (!for_each.empty() && std::find(out.begin(), out.end(), for_each) == out.end())
    out.push_back(for_each);
  return out;
}

const StageSpec* PipelineSpec::stage(std::string_view id) const {
  for (const StageSpec& s : stages)
    if (s.id == id) return &s;
  return nullptr;
}

std::vector<std::string> PipelineSpec::variables_of(const StageSpec& s) const {
  std::vector<std::string> vars;
  for (const auto& [name, values] : s.matrix) vars.push_back(name);
  if (!s.for_each.empty())
    if (const StageSpec* src = stage(s.for_each)) {
      auto more = variables_of(*src);
      vars.insert(vars.end(), more.begin(), more.end());
    }
  if (!s.group_by.empty()) vars.push_back(s.group_by);
  return vars;
}

namespace {

bool matches(const json& combo, const json& entry) {
  for (auto it = entry.begin(); it != entry.end(); ++it)
    if (!combo.contains(it.key()) || combo[it.key()] != *it) return false;
  return true;
}

// Combination k of the matrix in mixed radix, the last name varying fastest.
json combination(const StageSpec& s, size_t k) {
  json::object_t o;
  for (size_t i = s.matrix.size(); i-- > 0;) {
    const auto& values = s.matrix[i].second;
    o.emplace(s.matrix[i].first, values[k % values.size()]);
    k /= values.size();
  }
  return json(std::move(o));
}

NewJob job_of(const StageSpec& s, const std::shared_ptr<const json>& params, json matrix,
              int default_max_attempts) {
  NewJob j;
  j.stage = s.id;
  j.kind = s.kind;
  j.params = params;
  j.matrix = std::move(matrix);
  j.priority = s.priority;
  j.max_attempts = s.retries >= 0 ? s.retries + 1 : default_max_attempts;
  j.timeout_ms = s.timeout_ms;
  return j;
}

// A stage's templated text params, parsed once with their wildcard lists.
struct StageTemplates {
  struct One {
    std::string param;
    PromptTemplate tmpl;
    WildcardLists lists;
  };
  std::vector<One> texts;

  StageTemplates(const PipelineSpec& spec, const StageSpec& s) {
    const KindSpec* kind = find_kind(s.kind);
    if (!kind) return;
    for (const ParamSpec& p : kind->params) {
      if (p.type != ParamType::text || !s.with.contains(p.name) || !s.with[p.name].is_string())
        continue;
      const std::string text = s.with[p.name].get<std::string>();
      if (!has_template_syntax(text)) continue;
      PromptTemplate t = PromptTemplate::parse(text);
      WildcardLists lists = load_wildcards(t, std::filesystem::absolute(spec.path).parent_path());
      texts.push_back({p.name, std::move(t), std::move(lists)});
    }
  }

  // The params of the job(s) for one set of variables: the shared stage params
  // when nothing is templated, else one set per variant combination (or one
  // sampled), texts filled in and the choices recorded under `_variants`.
  std::vector<std::shared_ptr<const json>> params_for(const StageSpec& s,
                                                      const std::shared_ptr<const json>& base,
                                                      const json& vars, uint64_t job_index,
                                                      size_t limit) const {
    if (texts.empty()) return {base};
    std::vector<json> sets{*base};
    for (const One& one : texts) {
      const auto mode = s.sample_variants ? VariantMode::sampled : VariantMode::combinatorial;
      std::vector<Expansion> ex =
          expand_prompt(one.tmpl, vars, one.lists, mode, s.variant_seed, limit, job_index);
      std::vector<json> next;
      for (const json& p : sets) {
        for (const Expansion& e : ex) {
          json q = p;
          q[one.param] = e.text;
          if (!e.choices.empty() || s.sample_variants) {
            json rec = {{"choices", e.choices}};
            if (s.sample_variants) rec["seed"] = e.seed;
            q["_variants"][one.param] = std::move(rec);
          }
          next.push_back(std::move(q));
        }
      }
      sets = std::move(next);
      if (sets.size() > limit) break;
    }
    std::vector<std::shared_ptr<const json>> out;
    for (json& p : sets) out.push_back(std::make_shared<const json>(std::move(p)));
    return out;
  }
};

void check_limit(const PipelineSpec& spec, const StageSpec& s, size_t jobs, size_t limit) {
  if (jobs <= limit) return;
  throw InputError(at_pos(spec.path, s.pos) + "stage '" + s.id + "' brings the run to " +
                   std::to_string(jobs) + " jobs, over the limit of " + std::to_string(limit) +
                   " (max_jobs_per_run in atelier.yaml); split the campaign");
}

// Stages in an order where every stage comes after those it waits for.
std::vector<const StageSpec*> topological(const PipelineSpec& spec) {
  std::vector<const StageSpec*> order;
  std::map<std::string, bool> placed;
  while (order.size() < spec.stages.size()) {
    for (const StageSpec& s : spec.stages) {
      if (placed[s.id]) continue;
      bool ready = true;
      for (const auto& n : s.upstream()) ready = ready && placed[n];
      if (ready) {
        order.push_back(&s);
        placed[s.id] = true;
      }
    }
  }
  return order;
}

// The one needed stage whose jobs carry the group_by variable.
const StageSpec& grouped_stage(const PipelineSpec& spec, const StageSpec& s) {
  for (const std::string& need : s.needs) {
    auto vars = spec.variables_of(*spec.stage(need));
    if (std::find(vars.begin(), vars.end(), s.group_by) != vars.end()) return *spec.stage(need);
  }
  throw std::logic_error("group_by stage without a grouped stage (validation missed it)");
}

}  // namespace

std::vector<json> matrix_combinations(const StageSpec& s) {
  size_t count = 1;
  for (const auto& [name, values] : s.matrix) count *= values.size();
  std::vector<json> out;
  out.reserve(count + s.include.size());
  for (size_t k = 0; k < count; ++k) {
    json c = combination(s, k);
    if (std::none_of(s.exclude.begin(), s.exclude.end(),
                     [&](const json& e) { return matches(c, e); }))
      out.push_back(std::move(c));
  }
  for (const json& inc : s.include)
    if (std::find(out.begin(), out.end(), inc) == out.end()) out.push_back(inc);
  return out;
}

bool is_deferred(const PipelineSpec& spec, const StageSpec& s) {
  if (s.dynamic()) return true;
  if (!s.group_by.empty()) return is_deferred(spec, grouped_stage(spec, s));
  return false;
}

std::vector<json> group_values(const PipelineSpec& spec, const StageSpec& s) {
  const StageSpec& src = grouped_stage(spec, s);
  std::vector<json> values;
  std::vector<json> combos =
      src.matrix.empty() ? std::vector<json>{json::object()} : matrix_combinations(src);
  if (!src.group_by.empty()) combos.clear();
  for (const json& v : !src.group_by.empty() ? group_values(spec, src) : std::vector<json>{})
    combos.push_back(json{{src.group_by, v}});
  for (const json& c : combos) {
    if (!c.contains(s.group_by)) continue;
    if (std::find(values.begin(), values.end(), c[s.group_by]) == values.end())
      values.push_back(c[s.group_by]);
  }
  return values;
}

NewRun expand_spec(const PipelineSpec& spec, int default_max_attempts, size_t max_jobs) {
  NewRun run;
  run.name = spec.name;
  run.spec_path = spec.path;
  run.spec_text = spec.text;
  run.spec_sha256 = spec.sha256;
  run.params = spec.params;
  run.notify = spec.notify;
  std::map<std::string, std::vector<size_t>> jobs_of;  // a deferred stage: its expand job
  size_t total = 0;  // an estimate for the reserve: the matrix sizes before exclusions
  for (const StageSpec& s : spec.stages) {
    size_t n = 1;
    for (const auto& [name, values] : s.matrix) n *= values.size();
    total += std::min(n + s.include.size(), max_jobs);
  }
  run.jobs.reserve(total);
  for (const StageSpec* s : topological(spec)) {
    std::vector<size_t> deps;
    for (const auto& n : s->upstream())
      deps.insert(deps.end(), jobs_of[n].begin(), jobs_of[n].end());
    if (is_deferred(spec, *s)) {
      NewJob& j = run.jobs.emplace_back();
      j.stage = s->id;
      j.kind = "expand";
      j.params = std::make_shared<const json>(json{{"stage", s->id}});
      j.priority = s->priority + 1;  // unblocking a stage comes before more of the same
      j.max_attempts = default_max_attempts;
      j.deps = std::move(deps);
      jobs_of[s->id] = {run.jobs.size() - 1};
      continue;
    }
    const auto params = std::make_shared<const json>(s->with);
    const StageTemplates templates(spec, *s);
    uint64_t index = 0;
    if (!s->group_by.empty()) {
      // One job per value, waiting for the grouped stage's jobs with that value
      // and for everything else it needs.
      const StageSpec& src = grouped_stage(spec, *s);
      for (const json& v : group_values(spec, *s)) {
        const json vars{{s->group_by, v}};
        for (const auto& p : templates.params_for(*s, params, vars, index++, max_jobs)) {
          NewJob j = job_of(*s, p, vars, default_max_attempts);
          for (const auto& n : s->upstream()) {
            for (size_t idx : jobs_of[n]) {
              if (n == src.id && run.jobs[idx].matrix.value(s->group_by, json()) != v) continue;
              j.deps.push_back(idx);
            }
          }
          jobs_of[s->id].push_back(run.jobs.size());
          run.jobs.push_back(std::move(j));
        }
      }
      check_limit(spec, *s, run.jobs.size(), max_jobs);
      continue;
    }
    std::vector<json> combos =
        s->matrix.empty() ? std::vector<json>{json::object()} : matrix_combinations(*s);
    jobs_of[s->id].reserve(combos.size());
    for (json& c : combos) {
      if (templates.texts.empty()) {  // the common case: all jobs share the stage's params
        NewJob& j = run.jobs.emplace_back(job_of(*s, params, std::move(c), default_max_attempts));
        j.deps = deps;
        jobs_of[s->id].push_back(run.jobs.size() - 1);
        continue;
      }
      for (const auto& p : templates.params_for(*s, params, c, index++, max_jobs)) {
        NewJob& j = run.jobs.emplace_back(job_of(*s, p, c, default_max_attempts));
        j.deps = deps;
        jobs_of[s->id].push_back(run.jobs.size() - 1);
      }
      check_limit(spec, *s, run.jobs.size(), max_jobs);
    }
    check_limit(spec, *s, run.jobs.size(), max_jobs);
  }
  return run;
}

std::vector<NewJob> expand_deferred_stage(
    const PipelineSpec& spec, const std::string& stage_id,
    const std::map<std::string, std::vector<ExistingJob>>& upstream, int default_max_attempts,
    size_t max_jobs) {
  const StageSpec* s = spec.stage(stage_id);
  if (!s) throw InputError(spec.path + ": the run's spec has no stage '" + stage_id + "'");
  auto jobs_of = [&](const std::string& id) -> const std::vector<ExistingJob>& {
    static const std::vector<ExistingJob> none;
    auto it = upstream.find(id);
    return it == upstream.end() ? none : it->second;
  };
  const auto params = std::make_shared<const json>(s->with);
  const StageTemplates templates(spec, *s);
  uint64_t index = 0;
  std::vector<NewJob> out;
  auto add = [&](NewJob j) {
    if (out.size() >= max_jobs)
      throw InputError(spec.path + ": stage '" + s->id + "' would make more than " +
                       std::to_string(max_jobs) + " jobs (max_jobs_per_run in atelier.yaml)");
    out.push_back(std::move(j));
  };
  auto other_deps = [&](const std::string& except, NewJob& j) {
    for (const std::string& n : s->upstream())
      if (n != except)
        for (const ExistingJob& e : jobs_of(n)) j.dep_ids.push_back(e.id);
  };
  if (!s->for_each.empty()) {
    for (const ExistingJob& src : jobs_of(s->for_each)) {
      for (const std::string& sha : src.outputs) {
        for (const auto& base : templates.params_for(*s, params, src.matrix, index++, max_jobs)) {
          json p = *base;
          p["_inputs"] = json::array({sha});
          NewJob j = job_of(*s, std::make_shared<const json>(std::move(p)), src.matrix,
                            default_max_attempts);
          j.dep_ids.push_back(src.id);
          other_deps(s->for_each, j);
          add(std::move(j));
        }
      }
    }
    return out;
  }
  if (!s->group_by.empty()) {
    const std::string src = grouped_stage(spec, *s).id;
    std::vector<json> values;
    for (const ExistingJob& e : jobs_of(src)) {
      if (!e.matrix.contains(s->group_by)) continue;
      if (std::find(values.begin(), values.end(), e.matrix[s->group_by]) == values.end())
        values.push_back(e.matrix[s->group_by]);
    }
    for (const json& v : values) {
      const json vars{{s->group_by, v}};
      for (const auto& p : templates.params_for(*s, params, vars, index++, max_jobs)) {
        NewJob j = job_of(*s, p, vars, default_max_attempts);
        for (const ExistingJob& e : jobs_of(src))
          if (e.matrix.value(s->group_by, json()) == v) j.dep_ids.push_back(e.id);
        other_deps(src, j);
        add(std::move(j));
      }
    }
    return out;
  }
  throw InputError(spec.path + ": stage '" + stage_id + "' is not a for_each or group_by stage");
}

}  // namespace atelier
