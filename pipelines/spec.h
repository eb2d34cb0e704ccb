// Pipeline specs (DESIGN.md s.5), the core subset: version, name, params (with
// --set overrides and ${params.x} references), and stages with id, kind, with,
// needs, matrix, retries, priority and timeout. Loading validates everything
// before anything is enqueued; every error names file:line:col.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/store.h"

namespace atelier {

struct SourcePos {
  int line = 0, column = 0;  // 1-based
};

// "path:line:col: " — how every spec error that is found after parsing begins.
inline std::string at_pos(const std::string& path, SourcePos pos) {
  return path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": ";
}

// A reference to an upstream stage's outputs in `with`: ${render.assets} or
// ${train.model}. Stored in job params as {"$ref": "render.assets"} and resolved
// by the worker when the job runs, then recorded as lineage inputs.
struct StageRef {
  std::string stage, field, param;
  SourcePos pos;
};

struct StageSpec {
  std::string id;
  std::string kind;
  json with = json::object();
  std::vector<std::string> needs;
  std::vector<std::pair<std::string, std::vector<json>>> matrix;  // in spec order
  std::vector<json> include, exclude;                             // matrix entries added / removed
  std::string for_each;  // one job per output asset of that stage, made when it finishes
  std::string group_by;  // one job per value of this matrix variable of the stage it needs
  std::vector<StageRef> refs;
  // Prompt variants: every combination (default), or one sampled per job with
  // a seed recorded in the job's params.
  bool sample_variants = false;
  uint64_t variant_seed = 0;
  std::map<std::string, SourcePos> with_pos;  // where each `with` value is, for later errors
  int retries = -1;                           // -1: the workspace default
  int priority = 0;
  int64_t timeout_ms = 0;
  SourcePos pos;

  // Stages this one waits for: its needs, plus its for_each source.
  std::vector<std::string> upstream() const;
  // Jobs of this stage are only known once an upstream stage has run.
  bool dynamic() const { return !for_each.empty(); }
};

struct SpecLimits {
  size_t max_jobs = 100'000;  // fan-out limit per stage and per run (known at submission)
};

struct PipelineSpec {
  std::string path;  // as given
  std::string text;
  std::string sha256;
  int version = 1;
  std::string name;
  json params = json::object();  // resolved: defaults with --set applied
  std::vector<StageSpec> stages;
  std::vector<RunNotify> notify;  // `notify:` webhooks, posted by `atelier serve` at the run's end

  const StageSpec* stage(std::string_view id) const;
  // Matrix variables a stage's jobs carry: its own, those its for_each source's
  // jobs carry, and its group_by variable.
  std::vector<std::string> variables_of(const StageSpec& s) const;
};

// `sets` are "key=value" strings from --set; values are parsed as YAML scalars
// or flow lists ("3", "true", "[a, b]", "text").
PipelineSpec load_spec(const std::filesystem::path& file, const std::vector<std::string>& sets,
                       const SpecLimits& limits = {});
PipelineSpec parse_spec(const std::string& text, const std::string& path,
                        const std::vector<std::string>& sets, const SpecLimits& limits = {});

// The matrix combinations of a stage: the cartesian product (last name varies
// fastest), minus `exclude` matches, plus `include` entries.
std::vector<json> matrix_combinations(const StageSpec& s);

// Jobs known at submission: one per matrix combination (or group_by value) of
// each static stage, depending on every job of the stages it waits for. A
// dynamic stage (for_each, or group_by over a dynamic stage) gets one `expand`
// job instead, which waits for the same things; when it runs it creates the
// stage's jobs, and whatever waited for the expand job is made to wait for
// those jobs too (see Store::complete).
// Throws InputError (at the stage's position) past `max_jobs`.
NewRun expand_spec(const PipelineSpec& spec, int default_max_attempts, size_t max_jobs = 100'000);

// Whether a stage's jobs can only be made once an upstream stage has run.
bool is_deferred(const PipelineSpec& spec, const StageSpec& s);

// The distinct values of a group_by stage's variable among the static jobs of
// the stage it groups, in order of first appearance.
std::vector<json> group_values(const PipelineSpec& spec, const StageSpec& s);

// A job that exists, as a dynamic stage's expansion sees it.
struct ExistingJob {
  int64_t id = 0;
  json matrix = json::object();
  std::vector<std::string> outputs;  // sha256 of its output assets, by name
};

// The jobs of deferred stage `stage_id`, given the jobs of each stage it waits
// for (all finished). for_each: one job per output asset of the source stage,
// carrying its producer's matrix values and that asset as its one input.
// group_by: one job per value, depending on the jobs with that value.
std::vector<NewJob> expand_deferred_stage(
    const PipelineSpec& spec, const std::string& stage_id,
    const std::map<std::string, std::vector<ExistingJob>>& upstream, int default_max_attempts,
    size_t max_jobs);

// "90s", "5m", "2h", "1500ms" or a bare number of seconds.
int64_t parse_duration_ms(const std::string& text);

}  // namespace atelier
