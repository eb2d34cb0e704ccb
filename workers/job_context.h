// What a running job sees: its lease and params, progress reporting, the
// cancellation check (cancel requested, lease lost, timeout, worker draining),
// an output writer into the content-addressed store (PNG outputs get their
// perceptual hashes there), lineage inputs, check verdicts, models to register,
// the narrow store of workers/kind_store.h, and a per-attempt spdlog logger
// whose file is created on first use. Outputs, lineage, verdicts, models and
// spawned jobs are all written by the fenced completion, never before it.
#pragma once
#include <spdlog/logger.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "orchestrator/asset_store.h"
#include "orchestrator/clock.h"
#include "orchestrator/config.h"
#include "orchestrator/store.h"
#include "workers/kind_store.h"

namespace atelier {

// Thrown by check_cancelled(); the worker loop maps `reason` to a FailKind.
class JobStopped : public std::runtime_error {
 public:
  enum class Reason { cancelled, lease_lost, timeout, draining };
  JobStopped(Reason r, const std::string& msg) : std::runtime_error(msg), reason(r) {}
  Reason reason;
};

// Shared between the running job, the heartbeat thread and the worker loop.
struct JobSignals {
  std::atomic<bool> cancel{false};
  std::atomic<bool> lease_lost{false};
  std::atomic<int64_t> deadline_ms{0};  // 0: no timeout
  // When the worker was told to stop (0: not stopping); a running job may go on
  // for drain_grace_ms after that.
  const std::atomic<int64_t>* stop_at_ms = nullptr;
  int64_t drain_grace_ms = 0;

  void set_progress(double fraction, const std::string& message);
  // The progress reported since the last take, if any.
  std::optional<std::pair<double, std::string>> take_progress();

 private:
  std::mutex mu_;
  bool dirty_ = false;
  double fraction_ = 0;
  std::string message_;
};

// An input asset as a job sees it: where the file is and why it is an input
// ("input" for upstream outputs, else the param that named it).
struct JobInput {
  std::string sha256, path, media_type, role;
};

class JobContext {
 public:
  JobContext(const Lease& lease, AssetStore& assets, JobSignals& signals, const Clock& clock,
             Store& store, const WorkspaceConfig& config);
  ~JobContext();

  const Lease& lease() const { return lease_; }
  const json& params() const { return lease_.params; }
  int64_t job_id() const { return lease_.job_id; }
  int attempt() const { return lease_.attempt; }

  void progress(double fraction, const std::string& message = "");
  bool cancelled() const;
  void check_cancelled() const;  // throws JobStopped

  // Stores bytes as an output asset of this job (file first, row at completion).
  OutputAsset& write_output(const std::string& name, std::string_view data,
                            const std::string& media_type, const std::string& ext);
  // The same for a file the kind has written (a model, a video): copied into the
  // store, never read whole into memory.
  OutputAsset& write_output_file(const std::string& name, const std::filesystem::path& file,
                                 const std::string& media_type, const std::string& ext);
  // Lists an asset already in the store as an output of this job, under `name`
  // (a check stage forwards the assets its gate let through).
  OutputAsset& forward_output(const AssetRow& asset, const std::string& name);
  void add_input(const std::string& sha256, const std::string& role);
  // A verdict, written with the job's completion.
  void record_check(CheckVerdict v) { checks_.push_back(std::move(v)); }
  const std::vector<CheckVerdict>& checks() const { return checks_; }
  // A model this job used or made, registered by the job's completion.
  void register_model(ModelRow m) { models_.push_back(std::move(m)); }
  const std::vector<ModelRow>& models() const { return models_; }

  spdlog::logger& log();
  const std::vector<OutputAsset>& outputs() const { return outputs_; }
  const std::vector<InputRef>& lineage() const { return inputs_; }

  // Inputs resolved before run(): upstream outputs, imported files, references.
  const std::vector<JobInput>& inputs() const { return job_inputs_; }
  void set_inputs(std::vector<JobInput> in) { job_inputs_ = std::move(in); }
  void set_params(json p) { lease_.params = std::move(p); }

  // Jobs this job adds to its run, created atomically with its completion.
  void spawn(std::vector<NewJob> jobs) { spawned_ = std::move(jobs); }
  std::vector<NewJob>& spawned() { return spawned_; }

  // What the kind may read and record in the job database.
  KindStore& store() { return kind_store_; }
  const AssetStore& assets() const { return assets_; }
  int64_t now_ms() const { return clock_.now_ms(); }
  const WorkspaceConfig& config() const { return config_; }

 private:
  Lease lease_;
  AssetStore& assets_;
  JobSignals& signals_;
  const Clock& clock_;
  const WorkspaceConfig& config_;
  KindStore kind_store_;
  std::vector<OutputAsset> outputs_;
  std::vector<InputRef> inputs_;
  std::vector<JobInput> job_inputs_;
  std::vector<NewJob> spawned_;
  std::vector<CheckVerdict> checks_;
  std::vector<ModelRow> models_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace atelier
