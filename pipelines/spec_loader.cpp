// Parsing and validating a spec file. Nothing here touches the database.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "orchestrator/asset_store.h"
#include "orchestrator/errors.h"
#include "spec.h"
#include "workers/catalog/kind_catalog.h"
#include "yaml_json.h"

namespace atelier {
namespace {

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
    static const std::regex ref(R"(\$\{([^}]*)\})");
    std::smatch m;
    if (std::regex_match(s, m, ref)) return lookup(n, m[1].str(), params);
    std::string out;
    auto begin = s.cbegin();
    for (std::sregex_iterator it(s.begin(), s.end(), ref), end; it != end; ++it) {
      out.append(begin, s.cbegin() + it->position());
      json p = lookup(n, (*it)[1].str(), params);
      out += p.is_string() ? p.get<std::string>() : p.dump();
      begin = s.cbegin() + it->position() + it->length();
    }
    out.append(begin, s.cend());
    return out;
  }

  json lookup(const YAML::Node& at, const std::string& ref, const json& params) const {
    const std::string prefix = "params.";
    if (ref.rfind(prefix, 0) != 0) {
      fail(at, "unsupported reference '${" + ref + "}' (this version resolves ${params.NAME})");
    }
    const std::string name = ref.substr(prefix.size());
    if (!params.contains(name)) fail(at, "unknown param '" + name + "' in '${" + ref + "}'");
    return params[name];
  }

  void check_type(const YAML::Node& at, const std::string& stage, const ParamSpec& p,
                  const json& v) const {
    bool ok = false;
    switch (p.type) {
      case ParamType::integer:
        ok = v.is_number_integer();
        break;
      case ParamType::number:
        ok = v.is_number();
        break;
      case ParamType::boolean:
        ok = v.is_boolean();
        break;
      case ParamType::string:
        ok = v.is_string();
        break;
      case ParamType::list:
        ok = v.is_array();
        break;
      case ParamType::object:
        ok = v.is_object();
        break;
    }
    if (!ok) {
      fail(at, "stage '" + stage + "': param '" + p.name + "' must be " +
                   std::string(to_string(p.type)) + ", got " + v.dump());
    }
  }

  StageSpec stage(const YAML::Node& n, const json& params) const {
    if (!n.IsMap()) fail(n, "each stage must be a mapping with at least 'id' and 'kind'");
    only_keys(n, {"id", "kind", "with", "needs", "matrix", "retries", "priority", "timeout"},
              "a stage");
    StageSpec s;
    s.pos = {n.Mark().line + 1, n.Mark().column + 1};
    if (!n["id"]) fail(n, "stage is missing 'id'");
    s.id = str(n["id"], "id");
    static const std::regex id_re("[A-Za-z][A-Za-z0-9_-]*");
    if (!std::regex_match(s.id, id_re))
      fail(n["id"],
           "stage id '" + s.id + "' must start with a letter and use letters, digits, _ or -");
    if (!n["kind"]) fail(n, "stage '" + s.id + "' is missing 'kind'");
    s.kind = str(n["kind"], "kind");
    const KindSpec* kind = find_kind(s.kind);
    if (!kind)
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
        json values = resolve(kv.second, params);
        if (!values.is_array() || values.empty())
          fail(kv.second,
               "stage '" + s.id + "': matrix '" + kv.first.Scalar() + "' must be a non-empty list");
        s.matrix.emplace_back(kv.first.Scalar(), values.get<std::vector<json>>());
      }
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
    // Depth-first search for a cycle; report it as a path.
    std::vector<int> color(stages.size(), 0);
    std::vector<std::string> path;
    std::function<void(size_t)> visit = [&](size_t i) {
      color[i] = 1;
      path.push_back(stages[i].id);
      for (const std::string& dep : stages[i].needs) {
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
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw InputError(path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                       std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
    }
    if (!root.IsMap())
      throw InputError(path_ +
                       ": a pipeline spec must be a YAML mapping with version, name and stages");
    only_keys(root, {"version", "name", "params", "stages"}, "the spec");
    PipelineSpec spec;
    spec.path = path_;
    spec.text = text;
    spec.sha256 = sha256_hex(text);
    if (!root["version"])
      throw InputError(path_ + ": missing 'version' (this Atelier reads version 1)");
    spec.version = integer(root["version"], "version");
    if (spec.version != 1)
      fail(root["version"], "unsupported spec version " + std::to_string(spec.version) +
                                " (this Atelier reads version 1)");
    if (!root["name"]) throw InputError(path_ + ": missing 'name'");
    spec.name = str(root["name"], "name");
    if (const YAML::Node params = root["params"]) {
      if (!params.IsMap()) fail(params, "'params' must be a mapping of names to default values");
      spec.params = yaml_to_json(params);
    }
    apply_sets(spec.params, sets);
    const YAML::Node stages = root["stages"];
    if (!stages || !stages.IsSequence() || stages.size() == 0)
      fail(stages ? stages : root, "'stages' must be a non-empty list");
    for (const auto& s : stages) spec.stages.push_back(stage(s, spec.params));
    check_graph(stages, spec.stages);
    return spec;
  }

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
  static const std::regex re(R"(\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    throw InputError("'" + text + "' is not a duration (e.g. 90s, 5m, 2h, 1500ms)");
  double v = std::stod(m[1].str());
  const std::string unit = m[2].matched ? m[2].str() : "s";
  double mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : 3'600'000;
  return static_cast<int64_t>(v * mult);
}

PipelineSpec parse_spec(const std::string& text, const std::string& path,
                        const std::vector<std::string>& sets) {
  return Loader(path).load(text, sets);
}

PipelineSpec load_spec(const std::filesystem::path& file, const std::vector<std::string>& sets) {
  if (!std::filesystem::exists(file)) throw InputError(file.string() + ": spec file not found");
  if (std::filesystem::is_directory(file))
    throw InputError(file.string() + ": is a folder, not a spec file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot read spec file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_spec(ss.str(), file.string(), sets);
}

}  // namespace atelier
