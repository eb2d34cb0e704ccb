// The workspace config file (atelier.yaml beside the database): store URL, asset
// path, lease and retry defaults, worker pools, per-kind limits, CPU slots and
// retention. Every field has a default, so an empty file is a valid config;
// unknown keys are rejected with the file, line and column.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "job_state.h"
#include "licence_rank.h"

namespace atelier {

struct WorkspaceConfig {
  // sqlite:PATH (relative paths are under the workspace) or postgresql://...
  std::string store = "sqlite:atelier.db";
  // How long a command waits for a PostgreSQL server it lost before it fails.
  int64_t store_retry_ms = 600'000;
  std::string assets = "assets";
  // Folders searched for model files by name (relative: under the workspace;
  // Workspace::open makes them absolute).
  std::vector<std::string> models = {"models"};
  std::string dir;  // the workspace folder (set by Workspace::open, not read from the file)
  int64_t lease_ms = 30'000;
  int64_t heartbeat_ms = 0;  // 0: lease_ms / 3
  int64_t cancel_grace_ms = 10'000;
  int64_t drain_grace_ms = 30'000;  // how long a draining worker may finish its job
  int max_attempts = 3;
  RetryPolicy retry;  // retry.disk_full_ms comes from `disk_full: {retry_ms}`
  // How often a worker that knows of a full folder on its host checks (statvfs)
  // whether space came back, to release the jobs waiting for it at once.
  int64_t disk_probe_ms = 1000;
  int cpu_slots = 0;      // 0: the number of cores
  int claim_batch = 128;  // most jobs one worker holds at once when its jobs are quick
  int64_t supervisor_tick_ms = 200;
  int64_t restart_backoff_base_ms = 500;
  int64_t restart_backoff_max_ms = 30'000;
  std::map<std::string, int> pools;    // kind -> worker processes
  std::map<std::string, int> limits;   // kind -> most jobs leased at once (0: no limit)
  int retention_days = 30;             // finished runs older than this are removed
  int64_t max_jobs_per_run = 100'000;  // fan-out limit, checked before anything is enqueued
  int64_t orphan_grace_ms = 3'600'000;
  // Folders outside the workspace that a spec submitted over the API may read
  // (import_roots) and write exports and sidecars into (export_roots); none by
  // default. Relative: under the workspace. See file_scope.h.
  std::vector<std::string> import_roots, export_roots;
  // How the licence check ranks licences (licence_rank.h).
  LicenceRanking licences;

  int64_t effective_heartbeat_ms() const { return heartbeat_ms > 0 ? heartbeat_ms : lease_ms / 3; }
  int effective_cpu_slots() const;
};

// Reads `path`; a missing file gives the defaults. Throws InputError naming
// path:line:col for bad YAML, unknown keys or wrong types.
WorkspaceConfig load_config(const std::filesystem::path& path);

// The commented default file that `atelier init` writes.
std::string default_config_text();

}  // namespace atelier
