// A store that survives a lost database server (DESIGN.md s.9): every call runs
// on the inner store and, when the connection is lost (ConnectionLost: nothing
// of its transaction was committed, or the commit's answer was lost), runs again
// after a backoff (0.1 s doubling to 5 s) until `give_up_ms` has passed without
// a connection. The inner connection reconnects on the next call.
// What a repeat can see: a call whose COMMIT reached the server but whose answer
// was lost runs twice. Every write is safe to repeat by the queue's own rules:
// fenced writes (complete, fail, heartbeat) answer `lost` the second time; a
// repeated claim leaves leases nobody works, which expire and are rescued; a
// repeated submit with an idempotency key returns the same run.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include "../store.h"

namespace atelier::sql {

class RetryingStore final : public Store {
 public:
  RetryingStore(std::unique_ptr<Store> inner, int64_t give_up_ms);

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
  std::vector<int64_t> jobs_using(const std::string& sha256) override;
  std::vector<AssetRow> job_output_assets(int64_t job_id) override;
  std::vector<std::pair<std::string, AssetHashes>> hashed_assets() override;
  int64_t quarantined_upstream(int64_t job_id) override;
  void register_model(const ModelRow& m) override;
  std::optional<ModelRow> find_model(const std::string& sha256_or_name) override;
  std::vector<ModelRow> list_models() override;
  bool add_signing_key(const SigningKeyRow& k) override;
  std::optional<SigningKeyRow> find_signing_key(const std::string& key_id) override;
  std::vector<SigningKeyRow> signing_keys() override;
  std::vector<StageJob> stage_jobs(int64_t run_id, const std::string& stage) override;
  std::vector<InputRef> job_inputs(int64_t job_id) override;
  std::vector<std::pair<int64_t, AssetRow>> outputs_of_jobs(int64_t first_id,
                                                            int64_t last_id) override;
  std::vector<std::pair<int64_t, InputRef>> inputs_of_jobs(int64_t first_id,
                                                           int64_t last_id) override;
  std::vector<InputRef> asset_sources(const std::string& sha256) override;
  std::vector<AssetRow> dependency_outputs(int64_t job_id) override;
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
  bool hold_leadership(std::string_view role) override;
  void set_ready_hook(std::function<void()> hook) override {
    inner_->set_ready_hook(std::move(hook));
  }

 private:
  template <typename F>
  auto retry(std::string_view what, F&& f) -> decltype(f());
  void wait_after_loss(std::string_view what, const std::exception& e, int64_t& slept_ms,
                       int64_t& delay_ms);
  std::unique_ptr<Store> inner_;
  int64_t give_up_ms_;
};

}  // namespace atelier::sql
