// The store (store.h) in SQL, on either engine (connection.h). One instance
// owns one connection and is used by one thread; each process (and each
// heartbeat thread) opens its own. The queue's SQL is split by concern:
// store_submit.cpp (runs and jobs in), store_claim.cpp (claim, heartbeat),
// store_finish.cpp (completion, failure, promotion, skipping, lease rescue),
// store_control.cpp (cancel, retry, pause, workers, audit), store_queries.cpp
// (reads), store_models.cpp (models), store_keys.cpp (signing keys),
// store_checks.cpp (the registry of protected works, check verdicts),
// store_schedules.cpp (schedules and their fires), store_tokens.cpp (API tokens
// and dashboard sessions), store_dashboard.cpp (the dashboard's reads) and
// store_space.cpp (jobs waiting for space on a full disk).
#pragma once
#include <filesystem>
#include <memory>
#include <random>

#include "../clock.h"
#include "../config.h"
#include "../store.h"
#include "connection.h"

namespace atelier::sql {

// Binds an image's hashes (phash, phash_quality, colour) at `first` and the two
// after it, or NULLs.
inline void bind_hashes(Statement& st, int first, const std::optional<AssetHashes>& h) {
  if (h) {
    st.bind(first, h->phash);
    st.bind(first + 1, h->quality);
    st.bind(first + 2, h->colour);
  } else {
    for (int i = first; i < first + 3; ++i) st.bind(i);
  }
}

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<Connection> db, std::shared_ptr<Clock> clock, RetryPolicy retry = {});

  SubmitResult submit_run(const NewRun& run) override;

  std::vector<Lease> claim(const ClaimRequest& req) override;
  std::optional<int64_t> next_ready_at(const std::vector<std::string>& kinds) override;
  HeartbeatResult heartbeat(int64_t job_id, int attempt, int64_t lease_ms,
                            std::optional<double> progress,
                            const std::string& progress_msg) override;
  std::vector<FenceResult> complete(const std::vector<Completion>& done) override;
  FenceResult fail(int64_t job_id, int attempt, FailKind kind, const std::string& error) override;

  FenceResult wait_for_space(int64_t job_id, int attempt, const DiskFullRow& seen) override;
  std::vector<DiskFullRow> disk_full() override;
  int space_returned(const std::string& host, const std::string& path) override;
  int64_t waiting_for_space(std::optional<int64_t> run_id) override;
  int revive_disk_full(int64_t run_id) override;

  int rescue_expired_leases() override;
  std::vector<Lease> leases_of(const std::string& worker_id) override;

  int cancel_run(int64_t run_id) override;
  int cancel_job(int64_t job_id) override;
  int retry_run(int64_t run_id) override;
  int retry_job(int64_t job_id) override;
  void set_paused(const std::string& kind, bool paused) override;
  void set_limit(const std::string& kind, int max_concurrency) override;
  std::vector<std::string> paused_kinds() override;
  void audit(const std::string& actor, const std::string& action, const std::string& target,
             const json& details) override;

  void register_worker(const WorkerInfo& w) override;
  void worker_heartbeat(const std::string& id, const std::string& state,
                        std::optional<int64_t> current_job) override;
  void unregister_worker(const std::string& id) override;

  std::optional<RunRow> get_run(int64_t run_id) override;
  std::optional<RunRow> latest_run() override;
  std::optional<JobRow> get_job(int64_t job_id) override;
  std::vector<JobRow> list_jobs(const JobFilter& f) override;
  std::vector<StateCount> job_counts(int64_t run_id, bool by_stage) override;
  std::vector<AttemptRow> attempts(int64_t job_id) override;
  std::vector<AttemptRow> all_attempts(std::optional<int64_t> run_id) override;
  std::vector<AssetRow> list_assets(std::optional<int64_t> run_id) override;
  std::optional<AssetRow> get_asset(const std::string& sha256) override;
  void import_asset(const ImportedAsset& a) override;
  std::vector<AssetImport> asset_imports(const std::string& sha256) override;
  void set_asset_hashes(const std::string& sha256, const AssetHashes& h, int width,
                        int height) override;
  std::vector<InputRef> assets_made_from(const std::string& source_sha256) override;
  int add_registry_entries(const std::vector<RegistryEntry>& entries) override;
  std::vector<RegistryEntry> registry(const std::optional<std::string>& label) override;
  std::optional<RegistryEntry> registry_entry(int64_t id) override;
  std::vector<CheckRow> run_checks(int64_t run_id) override;
  std::vector<CheckRow> asset_checks(const std::string& sha256) override;
  int64_t quarantined_upstream(int64_t job_id) override;
  std::vector<int64_t> jobs_using(const std::string& sha256) override;
  std::vector<AssetRow> job_output_assets(int64_t job_id) override;
  std::vector<std::pair<std::string, AssetHashes>> hashed_assets() override;
  void register_model(const ModelRow& m) override;
  std::optional<ModelRow> find_model(const std::string& sha256_or_name) override;
  std::vector<ModelRow> list_models() override;
  bool add_signing_key(const SigningKeyRow& k) override;
  std::optional<SigningKeyRow> find_signing_key(const std::string& key_id) override;
  std::vector<SigningKeyRow> signing_keys() override;
  std::vector<StageJob> stage_jobs(int64_t run_id, const std::string& stage) override;
  std::vector<AssetRow> dependency_outputs(int64_t job_id) override;
  std::vector<InputRef> asset_sources(const std::string& sha256) override;
  std::vector<InputRef> job_inputs(int64_t job_id) override;
  std::vector<std::pair<int64_t, AssetRow>> outputs_of_jobs(int64_t first_id,
                                                            int64_t last_id) override;
  std::vector<std::pair<int64_t, InputRef>> inputs_of_jobs(int64_t first_id,
                                                           int64_t last_id) override;
  std::vector<std::string> asset_shas() override;
  std::vector<JobRow> leased_jobs() override;
  std::vector<EventRow> recent_events(int limit) override;
  std::vector<EventRow> events_after(int64_t after_id, int limit) override;
  std::vector<EventRow> events_before(int64_t before_id, int limit) override;
  std::vector<RunRow> list_runs(const RunFilter& f) override;
  std::vector<StateCount> run_counts() override;
  std::vector<KindStateCount> job_counts_by_kind() override;
  std::vector<KindStateCount> unfinished_counts_by_kind() override;
  std::vector<ThroughputBucket> throughput(int64_t since_ms, int64_t bucket_ms) override;
  std::vector<WorkerRow> list_workers() override;
  std::vector<KindDuration> job_durations() override;
  void add_session(const SessionRow& s) override;
  std::optional<SessionRow> find_session(const std::string& id_hash, int64_t now_ms) override;
  void remove_session(const std::string& id_hash) override;
  void add_schedule(const ScheduleRow& s) override;
  std::vector<ScheduleRow> list_schedules() override;
  std::optional<ScheduleRow> get_schedule(const std::string& name) override;
  bool remove_schedule(const std::string& name) override;
  bool advance_schedule(const std::string& name, std::optional<int64_t> expected, int64_t next,
                        std::optional<int64_t> last_fire) override;
  bool record_fire(const ScheduleFire& f) override;
  std::optional<ScheduleFire> find_fire(const std::string& schedule, int64_t fire_at) override;
  std::vector<ScheduleFire> schedule_fires(const std::string& schedule, int limit) override;
  std::vector<NotificationRow> due_notifications(int64_t now_ms, int limit) override;
  bool take_notification(int64_t id, int64_t expected_next_at, int64_t lease_until) override;
  void settle_notification(int64_t id, const std::string& state, int attempts, int64_t next_at,
                           const std::string& error) override;
  std::vector<NotificationRow> run_notifications(int64_t run_id) override;
  int64_t add_token(const TokenRow& t) override;
  std::optional<TokenRow> use_token(const std::string& secret_hash) override;
  std::vector<TokenRow> list_tokens() override;
  bool revoke_token(int64_t id) override;
  std::vector<std::string> kinds_with_work() override;
  std::vector<std::string> kinds_ready() override;
  int remove_finished_runs(int64_t before_ms) override;
  std::string integrity_check() override;
  bool hold_leadership(std::string_view role) override { return db_.hold_leadership(role); }
  void set_ready_hook(std::function<void()> hook) override { ready_hook_ = std::move(hook); }

 private:
  // Helpers that run inside an open write transaction.
  FenceResult fail_in_txn(int64_t job_id, int attempt, FailKind kind, const std::string& error,
                          bool& made_ready);
  // Jobs waiting for space become claimable now; returns how many.
  int release_waiting_for_space();
  // Called by complete() for each job it completed: when a folder is seen full
  // and this job had waited for space, space is back on its worker's host.
  void note_space_back(int64_t job_id, int attempt, bool& released);
  int64_t promote_dependents(int64_t job_id);  // returns jobs made ready
  int64_t skip_downstream(int64_t job_id);     // returns jobs skipped
  // Inserts jobs of a run as one id range (deps by index or by existing id);
  // returns their ids. Inside a write transaction.
  std::vector<int64_t> insert_jobs(int64_t run_id, const std::vector<NewJob>& jobs, int64_t t);
  // Inserts a running job's spawned jobs and makes its dependents wait for them.
  void spawn_jobs(int64_t run_id, int64_t parent, const std::vector<NewJob>& jobs, int64_t t,
                  bool& made_ready);
  // runs.unfinished counts a run's waiting, ready and leased jobs, so the end
  // of a run is noticed without scanning its jobs.
  void add_unfinished(int64_t run_id, int64_t delta);
  void finish_run_if_done(int64_t run_id);
  struct IdRange {
    int64_t first, last;
  };
  std::vector<IdRange> ranges_of(int64_t run_id);   // see run_job_ranges in the schema
  int reset_jobs(const std::vector<int64_t>& ids);  // for retry
  // reset_jobs, then the run is running again with the jobs counted unfinished.
  int requeue(int64_t run_id, const std::vector<int64_t>& ids);
  void end_attempt(int64_t job_id, int attempt, std::string_view outcome, const std::string* error);
  void notify_ready() {
    db_.notify_ready();
    if (ready_hook_) ready_hook_();
  }
  int64_t now() const { return clock_->now_ms(); }

  std::unique_ptr<Connection> conn_;
  Connection& db_;
  std::shared_ptr<Clock> clock_;
  RetryPolicy retry_;
  std::mt19937_64 rng_;
  std::function<void()> ready_hook_;
};

}  // namespace atelier::sql
