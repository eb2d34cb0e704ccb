// Pipeline specs (DESIGN.md s.5), the core subset: version, name, params (with
// --set overrides and ${params.x} references), and stages with id, kind, with,
// needs, matrix, retries, priority and timeout. Loading validates everything
// before anything is enqueued; every error names file:line:col.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/store.h"

namespace atelier {

struct SourcePos {
  int line = 0, column = 0;  // 1-based
};

struct StageSpec {
  std::string id;
  std::string kind;
  json with = json::object();
  std::vector<std::string> needs;
  std::vector<std::pair<std::string, std::vector<json>>> matrix;  // in spec order
  int retries = -1;                                               // -1: the workspace default
  int priority = 0;
  int64_t timeout_ms = 0;
  SourcePos pos;
};

struct PipelineSpec {
  std::string path;  // as given
  std::string text;
  std::string sha256;
  int version = 1;
  std::string name;
  json params = json::object();  // resolved: defaults with --set applied
  std::vector<StageSpec> stages;
};

// `sets` are "key=value" strings from --set; values are parsed as YAML scalars
// or flow lists ("3", "true", "[a, b]", "text").
PipelineSpec load_spec(const std::filesystem::path& file, const std::vector<std::string>& sets);
PipelineSpec parse_spec(const std::string& text, const std::string& path,
                        const std::vector<std::string>& sets);

// One job per matrix combination of each stage; each job depends on every job
// of the stages it needs.
NewRun expand_spec(const PipelineSpec& spec, int default_max_attempts);

// "90s", "5m", "2h", "1500ms" or a bare number of seconds.
int64_t parse_duration_ms(const std::string& text);

}  // namespace atelier
