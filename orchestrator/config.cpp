#include "config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/errors.h"

namespace atelier {
namespace {

std::string where(const std::filesystem::path& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

template <typename T>
T as(const std::filesystem::path& file, const YAML::Node& n, const std::string& key,
     const char* type) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw InputError(where(file, n) + ": '" + key + "' must be " + type);
  }
}

void check_keys(const std::filesystem::path& file, const YAML::Node& map,
                const std::set<std::string>& allowed, const std::string& section) {
  if (!map.IsMap()) throw InputError(where(file, map) + ": '" + section + "' must be a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      throw InputError(where(file, kv.first) + ": unknown key '" + key + "'" +
                       (section.empty() ? "" : " in '" + section + "'"));
    }
  }
}

std::map<std::string, int> int_map(const std::filesystem::path& file, const YAML::Node& n,
                                   const std::string& key) {
  if (!n.IsMap()) throw InputError(where(file, n) + ": '" + key + "' must map kinds to numbers");
  std::map<std::string, int> out;
  for (const auto& kv : n) {
    int v = as<int>(file, kv.second, key + "." + kv.first.as<std::string>(), "a whole number");
    if (v < 0) throw InputError(where(file, kv.second) + ": '" + key + "' values must be >= 0");
    out[kv.first.as<std::string>()] = v;
  }
  return out;
}

// licences: {accept: CLASS, classes: [{name: N, patterns: [GLOB...]}, ...]}
// (most restrictive first; a `classes` list replaces the default one whole).
LicenceRanking load_licence_ranking(const std::filesystem::path& path, const YAML::Node& n) {
  check_keys(path, n, {"accept", "classes"}, "licences");
  LicenceRanking r;
  if (const YAML::Node cs = n["classes"]) {
    if (!cs.IsSequence() || cs.size() == 0)
      throw InputError(where(path, cs) +
                       ": 'licences.classes' must be a non-empty list, most restrictive first");
    r.classes.clear();
    for (const auto& c : cs) {
      check_keys(path, c, {"name", "patterns"}, "licences.classes[]");
      LicenceClass lc;
      lc.name = as<std::string>(path, c["name"], "licences.classes[].name", "a string");
      if (!c["patterns"].IsSequence())
        throw InputError(where(path, c) + ": 'licences.classes[].patterns' must be a list");
      for (const auto& p : c["patterns"])
        lc.patterns.push_back(as<std::string>(path, p, "licences.classes[].patterns", "a string"));
      r.classes.push_back(std::move(lc));
    }
  }
  if (n["accept"]) r.accept = as<std::string>(path, n["accept"], "licences.accept", "a string");
  try {
    r.accept_rank();
  } catch (const std::invalid_argument& e) {
    throw InputError(where(path, n["accept"] ? n["accept"] : n) + ": " + e.what());
  }
  return r;
}

}  // namespace

int WorkspaceConfig::effective_cpu_slots() const {
  if (cpu_slots > 0) return cpu_slots;
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

WorkspaceConfig load_config(const std::filesystem::path& path) {
  WorkspaceConfig c;
  std::ifstream in(path);
  if (!in) return c;
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    throw InputError(path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) return c;
  check_keys(path, root,
             {"store",
              "store_retry_ms",
              "assets",
              "models",
              "lease_ms",
              "heartbeat_ms",
              "cancel_grace_ms",
              "drain_grace_ms",
              "max_attempts",
              "retry",
              "cpu_slots",
              "claim_batch",
              "supervisor_tick_ms",
              "restart_backoff",
              "pools",
              "limits",
              "retention",
              "max_jobs_per_run",
              "import_roots",
              "export_roots",
              "licences",
              "disk_full"},
             "");
  auto num = [&](const char* key, auto& field) {
    if (root[key]) field = as<std::decay_t<decltype(field)>>(path, root[key], key, "a number");
  };
  if (root["store"]) c.store = as<std::string>(path, root["store"], "store", "a string");
  if (root["assets"]) c.assets = as<std::string>(path, root["assets"], "assets", "a string");
  if (auto m = root["models"]) {
    if (!m.IsSequence()) throw InputError(where(path, m) + ": 'models' must be a list of folders");
    c.models.clear();
    for (const auto& e : m) c.models.push_back(as<std::string>(path, e, "models", "a folder path"));
  }
  auto folders = [&](const char* key, std::vector<std::string>& out) {
    const YAML::Node n = root[key];
    if (!n) return;
    if (!n.IsSequence())
      throw InputError(where(path, n) + ": '" + key + "' must be a list of folders");
    for (const auto& e : n) out.push_back(as<std::string>(path, e, key, "a folder path"));
  };
  folders("import_roots", c.import_roots);
  folders("export_roots", c.export_roots);
  if (auto l = root["licences"]) c.licences = load_licence_ranking(path, l);
  num("store_retry_ms", c.store_retry_ms);
  num("lease_ms", c.lease_ms);
  num("heartbeat_ms", c.heartbeat_ms);
  num("cancel_grace_ms", c.cancel_grace_ms);
  num("drain_grace_ms", c.drain_grace_ms);
  num("max_attempts", c.max_attempts);
  num("cpu_slots", c.cpu_slots);
  num("claim_batch", c.claim_batch);
  num("supervisor_tick_ms", c.supervisor_tick_ms);
  num("max_jobs_per_run", c.max_jobs_per_run);
  if (c.lease_ms <= 0) throw InputError(where(path, root["lease_ms"]) + ": 'lease_ms' must be > 0");
  if (c.max_attempts < 1)
    throw InputError(where(path, root["max_attempts"]) + ": 'max_attempts' must be >= 1");
  if (c.claim_batch < 1) c.claim_batch = 1;
  if (auto r = root["retry"]) {
    check_keys(path, r, {"base_ms", "max_ms", "jitter"}, "retry");
    if (r["base_ms"])
      c.retry.base_ms = as<int64_t>(path, r["base_ms"], "retry.base_ms", "a number");
    if (r["max_ms"]) c.retry.max_ms = as<int64_t>(path, r["max_ms"], "retry.max_ms", "a number");
    if (r["jitter"]) c.retry.jitter = as<double>(path, r["jitter"], "retry.jitter", "a number");
  }
  if (auto r = root["disk_full"]) {
    check_keys(path, r, {"retry_ms", "probe_ms"}, "disk_full");
    if (r["retry_ms"])
      c.retry.disk_full_ms = as<int64_t>(path, r["retry_ms"], "disk_full.retry_ms", "a number");
    if (r["probe_ms"])
      c.disk_probe_ms = as<int64_t>(path, r["probe_ms"], "disk_full.probe_ms", "a number");
    if (c.retry.disk_full_ms <= 0 || c.disk_probe_ms <= 0)
      throw InputError(where(path, r) + ": 'disk_full' durations must be > 0");
  }
  if (auto r = root["restart_backoff"]) {
    check_keys(path, r, {"base_ms", "max_ms"}, "restart_backoff");
    if (r["base_ms"])
      c.restart_backoff_base_ms =
          as<int64_t>(path, r["base_ms"], "restart_backoff.base_ms", "a number");
    if (r["max_ms"])
      c.restart_backoff_max_ms =
          as<int64_t>(path, r["max_ms"], "restart_backoff.max_ms", "a number");
  }
  if (root["pools"]) c.pools = int_map(path, root["pools"], "pools");
  if (root["limits"]) c.limits = int_map(path, root["limits"], "limits");
  if (auto r = root["retention"]) {
    check_keys(path, r, {"days", "orphan_grace_ms"}, "retention");
    if (r["days"]) c.retention_days = as<int>(path, r["days"], "retention.days", "a whole number");
    if (r["orphan_grace_ms"])
      c.orphan_grace_ms =
          as<int64_t>(path, r["orphan_grace_ms"], "retention.orphan_grace_ms", "a number");
  }
  return c;
}

std::string default_config_text() {
  return R"(# Atelier workspace configuration. Every key is optional; these are the defaults.
store: sqlite:atelier.db      # the job database (relative to this folder), or postgresql://...
store_retry_ms: 600000        # how long a lost PostgreSQL server is waited for
assets: assets                # content-addressed output store
models: [models]              # folders searched for model files by name
lease_ms: 30000               # a job's lease; workers heartbeat every lease_ms/3
cancel_grace_ms: 10000        # cooperative cancel, then SIGTERM, then SIGKILL after this
drain_grace_ms: 30000         # on shutdown a worker may finish its job for this long
max_attempts: 3               # per job, unless a stage sets `retries`
retry: {base_ms: 1000, max_ms: 300000, jitter: 0.2}   # exponential backoff with jitter
disk_full: {retry_ms: 5000, probe_ms: 1000}   # a full disk: jobs wait (doubling, up to
                              # retry.max_ms) without spending attempts; free space is
                              # checked every probe_ms and releases them when it is back
cpu_slots: 0                  # 0: one per core; workers never use more threads than this
claim_batch: 128              # most quick jobs one worker claims in one transaction
pools: {}                     # worker processes per kind, e.g. {sleep: 2}
limits: {}                    # most jobs of a kind running at once, e.g. {train_lora: 1}
retention: {days: 30, orphan_grace_ms: 3600000}
max_jobs_per_run: 100000      # a spec expanding to more is refused before anything is enqueued
import_roots: []              # folders outside this one that specs submitted over the API may read
export_roots: []              # ... and write exports and caption sidecars into
# licences: {accept: share-alike}   # the licence check's bar; see docs/checks.md for the classes
)";
}

}  // namespace atelier
