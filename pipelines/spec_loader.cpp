// Parsing and validating a spec file. Nothing here touches the database.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "orchestrator/asset_store.h"
#include "common/errors.h"
#include "prompt_template.h"
#include "spec.h"
#include "spec_text_checks.h"
#include "kinds/catalog.h"
#include "yaml_json.h"

namespace atelier {
namespace {

// A letter, then letters, digits, _ or -; at most 64 characters.
bool valid_id(const std::string& s) {
  if (s.empty() || s.size() > 64 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

class Loader {
 public:
  Loader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
    const YAML::Mark m = at.Mark();
    if (m.is_null()) throw InputError(path_ + ": " + msg);
    throw InputError(path_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                     ": " + msg);
  }

  void only_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                 const std::string& where) const {
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + k + "' in " + where + " (allowed: " + list + ")");
      }
    }
  }

  std::string str(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, "'" + what + "' must be a string");
    return n.Scalar();
  }

  int integer(const YAML::Node& n, const std::string& what) const {
    json v = n.IsScalar() ? yaml_to_json(n) : json();
    if (!v.is_number_integer()) fail(n, "'" + what + "' must be a whole number");
    return v.get<int>();
  }

  // ${params.x} references: a whole-string reference keeps the param's type;
  // inside a longer string it is interpolated as text.
  json resolve(const YAML::Node& n, const json& params) const {
    if (n.IsMap()) {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = resolve(kv.second, params);
      return o;
    }
    if (n.IsSequence()) {
      json a = json::array();
      for (const auto& e : n) a.push_back(resolve(e, params));
      return a;
    }
    json v = yaml_to_json(n);
    if (!v.is_string()) return v;
    const std::string s = v.get<std::string>();
    // Scanned by hand: std::regex recurses per character and can exhaust the
    // stack on long hostile input.
    if (s.size() > 3 && s.rfind("${", 0) == 0 && s.back() == '}' && s.find('}') == s.size() - 1)
      return lookup(n, s.substr(2, s.size() - 3), params, true);
    std::string out;
    size_t pos = 0;
    while (pos < s.size()) {
      const size_t open = s.find("${", pos);
      const size_t close = open == std::string::npos ? open : s.find('}', open + 2);
      if (close == std::string::npos) {
        out.append(s, pos, std::string::npos);
        break;
      }
      out.append(s, pos, open - pos);
      json p = lookup(n, s.substr(open + 2, close - open - 2), params);
      out += p.is_string() ? p.get<std::string>() : p.dump();
      pos = close + 1;
    }
    return out;
  }

  json lookup(const YAML::Node& at, const std::string& ref, const json& params,
              bool whole = false) const {
    const std::string prefix = "params.";
    if (ref.rfind(prefix, 0) != 0) {
      const size_t dot = ref.rfind('.');
      const std::string stage = dot == std::string::npos ? "" : ref.substr(0, dot);
      const std::string field = dot == std::string::npos ? "" : ref.substr(dot + 1);
      if (!valid_id(stage) || (field != "assets" && field != "model")) {
        fail(at, "unknown reference '${" + ref +
                     "}' (use ${params.NAME}, ${STAGE.assets} or ${STAGE.model})");
      }
      if (!whole) {
        fail(at, "'${" + ref + "}' names files, so it must be the whole value, not part of a text");
      }
      refs_.push_back({stage, field, current_param_, {at.Mark().line + 1, at.Mark().column + 1}});
      return json{{"$ref", ref}};
    }
    const std::string name = ref.substr(prefix.size());
    if (!params.contains(name)) fail(at, "unknown param '" + name + "' in '${" + ref + "}'");
    return params[name];
  }

  void check_type(const YAML::Node& at, const std::string& stage, const ParamSpec& p,
                  const json& v) const {
    if (auto why = check_param_value(p, v)) fail(at, "stage '" + stage + "': " + *why);
  }

  std::vector<json> matrix_entries(const YAML::Node& list, const StageSpec& s, const json& params,
                                   const char* what) const {
    if (!list.IsSequence() || list.size() == 0)
      fail(list,
           "stage '" + s.id + "': matrix '" + what + "' must be a non-empty list of mappings");
    std::vector<json> out;
    for (const auto& e : list) {
      if (!e.IsMap())
        fail(e, "stage '" + s.id + "': each matrix '" + what + "' entry must be a mapping");
      for (const auto& kv : e) {
        const std::string var = kv.first.Scalar();
        bool known = false;
        for (const auto& [name, values] : s.matrix) known = known || name == var;
        if (!known)
          fail(kv.first, "stage '" + s.id + "': matrix '" + what + "' names '" + var +
                             "', which is not one of the matrix lists");
      }
      out.push_back(resolve(e, params));
    }
    return out;
  }

  StageSpec stage(const YAML::Node& n, const json& params) const {
    if (!n.IsMap()) fail(n, "each stage must be a mapping with at least 'id' and 'kind'");
    only_keys(n,
              {"id", "kind", "with", "needs", "matrix", "retries", "priority", "timeout",
               "for_each", "group_by", "variants"},
              "a stage");
    refs_.clear();
    StageSpec s;
    s.pos = {n.Mark().line + 1, n.Mark().column + 1};
    if (!n["id"]) fail(n, "stage is missing 'id'");
    s.id = str(n["id"], "id");
    if (!valid_id(s.id))
      fail(n["id"], "stage id '" + s.id.substr(0, 80) +
                        "' must start with a letter and use letters, digits, _ or - (64 at most)");
    if (!n["kind"]) fail(n, "stage '" + s.id + "' is missing 'kind'");
    s.kind = str(n["kind"], "kind");
    const KindSpec* kind = find_kind(s.kind);
    if (!kind || kind->internal)
      fail(n["kind"], "stage '" + s.id + "': unknown kind '" + s.kind +
                          "' (known: " + known_kinds_list() + ")");
    if (const YAML::Node with = n["with"]) {
      if (!with.IsMap()) fail(with, "stage '" + s.id + "': 'with' must be a mapping of params");
      for (const auto& kv : with) {
        const std::string key = kv.first.Scalar();
        const ParamSpec* p = kind->param(key);
        if (!p) {
          std::string list;
          for (const auto& q : kind->params) list += (list.empty() ? "" : ", ") + q.name;
          fail(kv.first, "stage '" + s.id + "': kind '" + s.kind + "' has no param '" + key +
                             "' (its params: " + list + ")");
        }
        current_param_ = key;
        s.with_pos[key] = {kv.second.Mark().line + 1, kv.second.Mark().column + 1};
        json v = resolve(kv.second, params);
        check_type(kv.second, s.id, *p, v);
        s.with[key] = std::move(v);
      }
    }
    for (const ParamSpec& p : kind->params) {
      if (p.required && !s.with.contains(p.name))
        fail(n, "stage '" + s.id + "': kind '" + s.kind + "' needs param '" + p.name + "'");
    }
    if (const YAML::Node needs = n["needs"]) {
      if (needs.IsScalar()) {
        s.needs.push_back(needs.Scalar());
      } else if (needs.IsSequence()) {
        for (const auto& e : needs) s.needs.push_back(str(e, "needs"));
      } else {
        fail(needs, "stage '" + s.id + "': 'needs' must be a stage id or a list of them");
      }
    }
    if (const YAML::Node matrix = n["matrix"]) {
      if (!matrix.IsMap()) fail(matrix, "stage '" + s.id + "': 'matrix' must map names to lists");
      for (const auto& kv : matrix) {
        const std::string name = kv.first.Scalar();
        if (name == "include" || name == "exclude") continue;
        json values = resolve(kv.second, params);
        if (!values.is_array() || values.empty())
          fail(kv.second,
               "stage '" + s.id + "': matrix '" + kv.first.Scalar() + "' must be a non-empty list");
        s.matrix.emplace_back(kv.first.Scalar(), values.get<std::vector<json>>());
      }
      if (matrix["exclude"]) s.exclude = matrix_entries(matrix["exclude"], s, params, "exclude");
      if (matrix["include"]) {
        s.include = matrix_entries(matrix["include"], s, params, "include");
        for (size_t k = 0; k < s.include.size(); ++k) {
          for (const auto& [name, values] : s.matrix) {
            if (!s.include[k].contains(name))
              fail(matrix["include"][k], "stage '" + s.id +
                                             "': this matrix include entry must set '" + name +
                                             "' too (every matrix list needs a value)");
          }
        }
      }
      if (s.matrix.empty())
        fail(matrix, "stage '" + s.id + "': 'matrix' needs at least one named list");
    }
    if (const YAML::Node fe = n["for_each"]) {
      s.for_each = str(fe, "for_each");
      if (n["matrix"])
        fail(fe, "stage '" + s.id + "': use either 'for_each' or 'matrix', not both");
    }
    if (const YAML::Node gb = n["group_by"]) {
      s.group_by = str(gb, "group_by");
      if (n["matrix"] || n["for_each"])
        fail(gb, "stage '" + s.id + "': 'group_by' cannot be combined with 'matrix' or 'for_each'");
    }
    s.refs = refs_;
    if (const YAML::Node v = n["variants"]) {
      // `variants: combinatorial`, `variants: sampled`, or `variants: {mode: sampled, seed: 7}`.
      std::string mode;
      if (v.IsScalar()) {
        mode = v.Scalar();
      } else if (v.IsMap()) {
        only_keys(v, {"mode", "seed"}, "variants");
        mode = v["mode"] ? str(v["mode"], "variants.mode") : "combinatorial";
        if (v["seed"]) {
          const int seed = integer(v["seed"], "variants.seed");
          if (seed < 0) fail(v["seed"], "'variants.seed' must be >= 0");
          s.variant_seed = static_cast<uint64_t>(seed);
        }
      } else {
        fail(v, "stage '" + s.id + "': 'variants' must be combinatorial, sampled or {mode, seed}");
      }
      if (mode != "combinatorial" && mode != "sampled")
        fail(v,
             "stage '" + s.id + "': variants mode '" + mode + "' is not combinatorial or sampled");
      s.sample_variants = mode == "sampled";
    }
    if (n["retries"]) {
      s.retries = integer(n["retries"], "retries");
      if (s.retries < 0) fail(n["retries"], "'retries' must be >= 0");
    }
    if (n["priority"]) s.priority = integer(n["priority"], "priority");
    if (n["timeout"]) {
      try {
        s.timeout_ms = parse_duration_ms(str(n["timeout"], "timeout"));
      } catch (const InputError& e) {
        fail(n["timeout"], e.what());
      }
    }
    return s;
  }

  // Where in the YAML a stage's key is, for errors found after parsing.
  YAML::Node at(const YAML::Node& stages_node, size_t i, const char* key) const {
    const YAML::Node n = stages_node[i][key];
    return n ? n : stages_node[i];
  }

  void check_graph(const YAML::Node& stages_node, const std::vector<StageSpec>& stages) const {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < stages.size(); ++i) {
      if (!index.emplace(stages[i].id, i).second)
        fail(stages_node[i]["id"], "duplicate stage id '" + stages[i].id + "'");
    }
    for (size_t i = 0; i < stages.size(); ++i) {
      for (size_t k = 0; k < stages[i].needs.size(); ++k) {
        if (!index.count(stages[i].needs[k])) {
          const YAML::Node needs = stages_node[i]["needs"];
          fail(needs.IsSequence() ? needs[k] : needs,
               "stage '" + stages[i].id + "' needs unknown stage '" + stages[i].needs[k] + "'");
        }
      }
    }
    for (size_t i = 0; i < stages.size(); ++i) {
      const StageSpec& s = stages[i];
      if (!s.for_each.empty()) {
        if (!index.count(s.for_each))
          fail(at(stages_node, i, "for_each"),
               "stage '" + s.id + "': for_each names unknown stage '" + s.for_each + "'");
        if (s.for_each == s.id)
          fail(at(stages_node, i, "for_each"),
               "stage '" + s.id + "' cannot run for_each over itself");
      }
      if (!s.group_by.empty() && s.needs.empty())
        fail(at(stages_node, i, "group_by"),
             "stage '" + s.id + "': group_by needs a stage to group (add 'needs')");
    }
    // Depth-first search for a cycle; report it as a path.
    std::vector<int> color(stages.size(), 0);
    std::vector<std::string> path;
    std::function<void(size_t)> visit = [&](size_t i) {
      color[i] = 1;
      path.push_back(stages[i].id);
      for (const std::string& dep : stages[i].upstream()) {
        size_t j = index[dep];
        if (color[j] == 1) {
          std::string cycle;
          auto from = std::find(path.begin(), path.end(), dep);
          for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
          fail(stages_node[i], "dependency cycle: " + cycle + dep);
        }
        if (color[j] == 0) visit(j);
      }
      path.pop_back();
      color[i] = 2;
    };
    for (size_t i = 0; i < stages.size(); ++i)
      if (color[i] == 0) visit(i);
  }

  PipelineSpec load(const std::string& text, const std::vector<std::string>& sets) const {
    check_spec_text(text, path_);
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw InputError(path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                       std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
    }
    check_duplicate_keys(root, path_);
    if (!root.IsMap())
      fail(root, "a pipeline spec must be a YAML mapping with version, name and stages");
    only_keys(root, {"version", "name", "params", "stages", "notify"}, "the spec");
    PipelineSpec spec;
    spec.path = path_;
    spec.text = text;
    spec.sha256 = sha256_hex(text);
    if (!root["version"]) fail(root, "missing 'version' (add `version: 1` at the top)");
    spec.version = integer(root["version"], "version");
    if (spec.version != 1)
      fail(root["version"], "unsupported spec version " + std::to_string(spec.version) +
                                " (this Atelier reads version 1)");
    if (!root["name"])
      fail(root, "missing 'name' (add `name: ...` to say what this pipeline makes)");
    spec.name = str(root["name"], "name");
    if (const YAML::Node params = root["params"]) {
      if (!params.IsMap()) fail(params, "'params' must be a mapping of names to default values");
      spec.params = yaml_to_json(params);
    }
    apply_sets(spec.params, sets);
    if (const YAML::Node n = root["notify"]) {
      if (n.IsMap()) {
        spec.notify.push_back(notify(n));
      } else if (n.IsSequence() && n.size() > 0) {
        for (const auto& item : n) spec.notify.push_back(notify(item));
      } else {
        fail(n, "'notify' must be {url: ..., on: [...]} or a list of them");
      }
    }
    const YAML::Node stages = root["stages"];
    if (!stages || !stages.IsSequence() || stages.size() == 0)
      fail(stages ? stages : root, "'stages' must be a non-empty list");
    for (const auto& s : stages) spec.stages.push_back(stage(s, spec.params));
    check_graph(stages, spec.stages);
    check_semantics(stages, spec);
    return spec;
  }

  // One webhook: an http(s) URL and the run end states it wants (default all).
  RunNotify notify(const YAML::Node& n) const {
    if (!n.IsMap()) fail(n, "a notify entry must be a mapping {url: ..., on: [...]}");
    only_keys(n, {"url", "on"}, "notify");
    if (!n["url"]) fail(n, "notify: missing 'url'");
    RunNotify out;
    out.url = str(n["url"], "notify url");
    if (!(out.url.rfind("http://", 0) == 0 || out.url.rfind("https://", 0) == 0) ||
        out.url.size() > 2000 || out.url.find_first_of(" \r\n\t") != std::string::npos)
      fail(n["url"], "notify: url must be an http:// or https:// URL");
    static const std::set<std::string> kStates = {"succeeded", "failed", "cancelled"};
    if (const YAML::Node on = n["on"]) {
      if (!on.IsSequence() || on.size() == 0)
        fail(on, "notify: 'on' must be a list of run end states (succeeded, failed, cancelled)");
      for (const auto& v : on) {
        const std::string st = str(v, "notify state");
        if (!kStates.count(st))
          fail(v, "notify: '" + st + "' is not a run end state (succeeded, failed, cancelled)");
        out.on.push_back(st);
      }
    } else {
      out.on.assign(kStates.begin(), kStates.end());
    }
    return out;
  }

  // What needs the whole graph: group_by variables, references, fan-out size.
  void check_semantics(const YAML::Node& stages_node, const PipelineSpec& spec) const {
    size_t total = 0;
    for (size_t i = 0; i < spec.stages.size(); ++i) {
      const StageSpec& s = spec.stages[i];
      if (!s.group_by.empty()) {
        int holders = 0;
        for (const std::string& need : s.needs) {
          auto vars = spec.variables_of(*spec.stage(need));
          holders += std::count(vars.begin(), vars.end(), s.group_by) > 0;
        }
        if (holders != 1)
          fail(at(stages_node, i, "group_by"),
               "stage '" + s.id + "': group_by '" + s.group_by + "' must be a matrix variable of " +
                   (holders == 0 ? "a stage it needs" : "exactly one stage it needs"));
      }
      check_templates(spec, s);
      for (const StageRef& r : s.refs) {
        if (!spec.stage(r.stage)) {
          throw InputError(at_pos(path_, r.pos) + "stage '" + s.id + "': '${" + r.stage + "." +
                           r.field + "}' names unknown stage '" + r.stage + "'");
        }
        if (!upstream_of(spec, s, r.stage)) {
          throw InputError(at_pos(path_, r.pos) + "stage '" + s.id + "': '${" + r.stage + "." +
                           r.field + "}' refers to stage '" + r.stage +
                           "', which this stage does not wait for (add it to 'needs')");
        }
      }
      if (s.dynamic()) continue;
      size_t n = 1;
      if (!s.matrix.empty()) {
        // Count before building: a hostile matrix can name billions of combinations.
        size_t product = 1;
        for (const auto& [name, values] : s.matrix)
          product = values.size() != 0 && product > limits_.max_jobs * 16 / values.size()
                        ? limits_.max_jobs * 16 + 1
                        : product * values.size();
        if (product > limits_.max_jobs * 16 ||
            (s.exclude.empty() && product > limits_.max_jobs + s.include.size()))
          fail(at(stages_node, i, "matrix"),
               "stage '" + s.id + "': the matrix makes " +
                   (product > limits_.max_jobs * 16
                        ? "more than " + std::to_string(limits_.max_jobs * 16)
                        : std::to_string(product)) +
                   " combinations, over the limit of " + std::to_string(limits_.max_jobs) +
                   " jobs (max_jobs_per_run in atelier.yaml); split the campaign");
        // Exact only where exclusions make it so; otherwise the product is the count.
        n = s.exclude.empty() ? product + s.include.size() : matrix_combinations(s).size();
      }
      if (!s.group_by.empty()) n = group_values(spec, s).size();
      if (!s.matrix.empty() && n == 0)
        fail(at(stages_node, i, "matrix"),
             "stage '" + s.id + "': the matrix excludes every combination");
      total += n;
      if (n > limits_.max_jobs || total > limits_.max_jobs)
        fail(at(stages_node, i, "matrix"),
             "stage '" + s.id + "' brings the run to " + std::to_string(total) +
                 " jobs, over the limit of " + std::to_string(limits_.max_jobs) +
                 " (max_jobs_per_run in atelier.yaml); split the campaign");
    }
  }

  // Every text param that uses templating must parse, name only variables the
  // stage's jobs carry, and name wildcard lists that exist beside the spec.
  void check_templates(const PipelineSpec& spec, const StageSpec& s) const {
    const KindSpec* kind = find_kind(s.kind);
    const auto vars = spec.variables_of(s);
    for (const ParamSpec& p : kind->params) {
      if (p.type != ParamType::text || !s.with.contains(p.name) || !s.with[p.name].is_string())
        continue;
      const std::string text = s.with[p.name].get<std::string>();
      if (!has_template_syntax(text)) continue;
      const SourcePos pos = s.with_pos.at(p.name);
      const std::string where = at_pos(path_, pos) + "stage '" + s.id + "': " + p.name + ": ";
      try {
        PromptTemplate t = PromptTemplate::parse(text);
        for (const std::string& v : t.variables()) {
          if (std::find(vars.begin(), vars.end(), v) == vars.end()) {
            std::string list;
            for (const auto& x : vars) list += (list.empty() ? "" : ", ") + x;
            throw InputError("unknown variable '{" + v + "}'" +
                             (list.empty() ? " (this stage has no matrix variables)"
                                           : " (its variables: " + list + ")"));
          }
        }
        load_wildcards(t, std::filesystem::absolute(path_).parent_path());
      } catch (const InputError& e) {
        throw InputError(where + e.what());
      }
    }
  }

  static bool upstream_of(const PipelineSpec& spec, const StageSpec& s, const std::string& target) {
    for (const std::string& u : s.upstream()) {
      if (u == target || upstream_of(spec, *spec.stage(u), target)) return true;
    }
    return false;
  }

 public:
  SpecLimits limits_;

 private:
  mutable std::vector<StageRef> refs_;
  mutable std::string current_param_;

 public:
  void apply_sets(json& params, const std::vector<std::string>& sets) const {
    for (const std::string& kv : sets) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        throw InputError("--set " + kv + ": expected key=value");
      const std::string key = kv.substr(0, eq);
      if (!params.contains(key)) {
        std::string list;
        for (auto it = params.begin(); it != params.end(); ++it)
          list += (list.empty() ? "" : ", ") + it.key();
        throw InputError("--set " + kv + ": " + path_ + " declares no param '" + key + "'" +
                         (list.empty() ? " (it has no params)" : " (its params: " + list + ")"));
      }
      json v;
      try {
        v = yaml_to_json(YAML::Load(kv.substr(eq + 1)));
      } catch (const YAML::Exception& e) {
        throw InputError("--set " + kv + ": value is not valid YAML: " + e.msg);
      }
      params[key] = v;
    }
  }

 private:
  std::string path_;
};

}  // namespace

int64_t parse_duration_ms(const std::string& text) {
  // NUMBER[.FRACTION] [ms|s|m|h], spaces allowed around; parsed by hand (no regex).
  const auto bad = [&] {
    return InputError("'" + text.substr(0, 80) + "' is not a duration (e.g. 90s, 5m, 2h, 1500ms)");
  };
  size_t i = text.find_first_not_of(" \t");
  const size_t end = text.find_last_not_of(" \t");
  if (i == std::string::npos) throw bad();
  const size_t num_start = i;
  while (i <= end && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == num_start) throw bad();
  if (i <= end && text[i] == '.') {
    const size_t frac = ++i;
    while (i <= end && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == frac) throw bad();
  }
  const std::string number = text.substr(num_start, i - num_start);
  while (i <= end && text[i] == ' ') ++i;
  const std::string unit = i <= end ? text.substr(i, end - i + 1) : "s";
  double mult = 0;
  if (unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  else
    throw bad();
  const double ms = std::strtod(number.c_str(), nullptr) * mult;
  // Checked before the conversion: a double past int64's range is undefined behaviour to cast.
  constexpr double kYearMs = 366.0 * 86'400'000;
  if (!(ms <= kYearMs))
    throw InputError("'" + text.substr(0, 80) + "' is longer than a year; use a shorter duration");
  return static_cast<int64_t>(ms);
}

PipelineSpec parse_spec(const std::string& text, const std::string& path,
                        const std::vector<std::string>& sets, const SpecLimits& limits) {
  Loader loader(path);
  loader.limits_ = limits;
  return loader.load(text, sets);
}

PipelineSpec load_spec(const std::filesystem::path& file, const std::vector<std::string>& sets,
                       const SpecLimits& limits) {
  if (!std::filesystem::exists(file)) throw InputError(file.string() + ": spec file not found");
  if (std::filesystem::is_directory(file))
    throw InputError(file.string() + ": is a folder, not a spec file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot read spec file");
  // Read at most one byte past the limit: enough for the size check to say
  // where the limit is crossed, without loading a huge file into memory.
  std::string text(kMaxSpecBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return parse_spec(text, file.string(), sets, limits);
}

}  // namespace atelier
