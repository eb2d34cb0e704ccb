#include "retrying_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "connection.h"

namespace atelier::sql {

RetryingStore::RetryingStore(std::unique_ptr<Store> inner, int64_t give_up_ms)
    : inner_(std::move(inner)), give_up_ms_(give_up_ms) {}

void RetryingStore::wait_after_loss(std::string_view what, const std::exception& e,
                                    int64_t& slept_ms, int64_t& delay_ms) {
  if (slept_ms >= give_up_ms_) throw;  // rethrows the ConnectionLost being handled
  if (slept_ms == 0) spdlog::warn("{} (in {}); retrying", e.what(), what);
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  slept_ms += delay_ms;
  delay_ms = std::min<int64_t>(delay_ms * 2, 5'000);
}

template <typename F>
auto RetryingStore::retry(std::string_view what, F&& f) -> decltype(f()) {
  int64_t slept_ms = 0, delay_ms = 100;
  for (;;) {
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        if (slept_ms > 0) spdlog::info("database connection back (after {} ms)", slept_ms);
        return;
      } else {
        auto r = f();
        if (slept_ms > 0) spdlog::info("database connection back (after {} ms)", slept_ms);
        return r;
      }
    } catch (const ConnectionLost& e) {
      wait_after_loss(what, e, slept_ms, delay_ms);
    }
  }
}

SubmitResult RetryingStore::submit_run(const NewRun& run) {
  return retry("submit_run", [&] { return inner_->submit_run(run); });
}

std::vector<Lease> RetryingStore::claim(const ClaimRequest& req) {
  return retry("claim", [&] { return inner_->claim(req); });
}

std::optional<int64_t> RetryingStore::next_ready_at(const std::vector<std::string>& kinds) {
  return retry("next_ready_at", [&] { return inner_->next_ready_at(kinds); });
}

HeartbeatResult RetryingStore::heartbeat(int64_t job_id, int attempt, int64_t lease_ms,
                                         std::optional<double> progress,
                                         const std::string& progress_msg) {
  return retry("heartbeat", [&] {
    return inner_->heartbeat(job_id, attempt, lease_ms, progress, progress_msg);
  });
}

std::vector<FenceResult> RetryingStore::complete(const std::vector<Completion>& done) {
  return retry("complete", [&] { return inner_->complete(done); });
}

FenceResult RetryingStore::fail(int64_t job_id, int attempt, FailKind kind,
                                const std::string& error) {
  return retry("fail", [&] { return inner_->fail(job_id, attempt, kind, error); });
}

FenceResult RetryingStore::wait_for_space(int64_t job_id, int attempt, const DiskFullRow& seen) {
  return retry("wait_for_space", [&] { return inner_->wait_for_space(job_id, attempt, seen); });
}

std::vector<DiskFullRow> RetryingStore::disk_full() {
  return retry("disk_full", [&] { return inner_->disk_full(); });
}

int RetryingStore::space_returned(const std::string& host, const std::string& path) {
  return retry("space_returned", [&] { return inner_->space_returned(host, path); });
}

int64_t RetryingStore::waiting_for_space(std::optional<int64_t> run_id) {
  return retry("waiting_for_space", [&] { return inner_->waiting_for_space(run_id); });
}

int RetryingStore::revive_disk_full(int64_t run_id) {
  return retry("revive_disk_full", [&] { return inner_->revive_disk_full(run_id); });
}

int RetryingStore::rescue_expired_leases() {
  return retry("rescue_expired_leases", [&] { return inner_->rescue_expired_leases(); });
}

std::vector<Lease> RetryingStore::leases_of(const std::string& worker_id) {
  return retry("leases_of", [&] { return inner_->leases_of(worker_id); });
}

int RetryingStore::cancel_run(int64_t run_id) {
  return retry("cancel_run", [&] { return inner_->cancel_run(run_id); });
}

int RetryingStore::cancel_job(int64_t job_id) {
  return retry("cancel_job", [&] { return inner_->cancel_job(job_id); });
}

int RetryingStore::retry_run(int64_t run_id) {
  return retry("retry_run", [&] { return inner_->retry_run(run_id); });
}

int RetryingStore::retry_job(int64_t job_id) {
  return retry("retry_job", [&] { return inner_->retry_job(job_id); });
}

void RetryingStore::set_paused(const std::string& kind, bool paused) {
  return retry("set_paused", [&] { return inner_->set_paused(kind, paused); });
}

void RetryingStore::set_limit(const std::string& kind, int max_concurrency) {
  return retry("set_limit", [&] { return inner_->set_limit(kind, max_concurrency); });
}

std::vector<std::string> RetryingStore::paused_kinds() {
  return retry("paused_kinds", [&] { return inner_->paused_kinds(); });
}

void RetryingStore::audit(const std::string& actor, const std::string& action,
                          const std::string& target, const json& details) {
  return retry("audit", [&] { return inner_->audit(actor, action, target, details); });
}

void RetryingStore::register_worker(const WorkerInfo& w) {
  return retry("register_worker", [&] { return inner_->register_worker(w); });
}

void RetryingStore::worker_heartbeat(const std::string& id, const std::string& state,
                                     std::optional<int64_t> current_job) {
  return retry("worker_heartbeat",
               [&] { return inner_->worker_heartbeat(id, state, current_job); });
}

void RetryingStore::unregister_worker(const std::string& id) {
  return retry("unregister_worker", [&] { return inner_->unregister_worker(id); });
}

std::optional<RunRow> RetryingStore::get_run(int64_t run_id) {
  return retry("get_run", [&] { return inner_->get_run(run_id); });
}

std::optional<RunRow> RetryingStore::latest_run() {
  return retry("latest_run", [&] { return inner_->latest_run(); });
}

std::optional<JobRow> RetryingStore::get_job(int64_t job_id) {
  return retry("get_job", [&] { return inner_->get_job(job_id); });
}

std::vector<JobRow> RetryingStore::list_jobs(const JobFilter& f) {
  return retry("list_jobs", [&] { return inner_->list_jobs(f); });
}

std::vector<StateCount> RetryingStore::job_counts(int64_t run_id, bool by_stage) {
  return retry("job_counts", [&] { return inner_->job_counts(run_id, by_stage); });
}

std::vector<AttemptRow> RetryingStore::attempts(int64_t job_id) {
  return retry("attempts", [&] { return inner_->attempts(job_id); });
}

std::vector<AttemptRow> RetryingStore::all_attempts(std::optional<int64_t> run_id) {
  return retry("all_attempts", [&] { return inner_->all_attempts(run_id); });
}

std::vector<AssetRow> RetryingStore::list_assets(std::optional<int64_t> run_id) {
  return retry("list_assets", [&] { return inner_->list_assets(run_id); });
}

std::optional<AssetRow> RetryingStore::get_asset(const std::string& sha256) {
  return retry("get_asset", [&] { return inner_->get_asset(sha256); });
}

void RetryingStore::import_asset(const ImportedAsset& a) {
  return retry("import_asset", [&] { return inner_->import_asset(a); });
}

void RetryingStore::set_asset_hashes(const std::string& sha256, const AssetHashes& h, int width,
                                     int height) {
  return retry("set_asset_hashes",
               [&] { return inner_->set_asset_hashes(sha256, h, width, height); });
}

std::vector<AssetImport> RetryingStore::asset_imports(const std::string& sha256) {
  return retry("asset_imports", [&] { return inner_->asset_imports(sha256); });
}

std::vector<InputRef> RetryingStore::assets_made_from(const std::string& source_sha256) {
  return retry("assets_made_from", [&] { return inner_->assets_made_from(source_sha256); });
}

int RetryingStore::add_registry_entries(const std::vector<RegistryEntry>& entries) {
  return retry("add_registry_entries", [&] { return inner_->add_registry_entries(entries); });
}

std::vector<RegistryEntry> RetryingStore::registry(const std::optional<std::string>& label) {
  return retry("registry", [&] { return inner_->registry(label); });
}

std::optional<RegistryEntry> RetryingStore::registry_entry(int64_t id) {
  return retry("registry_entry", [&] { return inner_->registry_entry(id); });
}

std::vector<CheckRow> RetryingStore::run_checks(int64_t run_id) {
  return retry("run_checks", [&] { return inner_->run_checks(run_id); });
}

std::vector<CheckRow> RetryingStore::asset_checks(const std::string& sha256) {
  return retry("asset_checks", [&] { return inner_->asset_checks(sha256); });
}

std::vector<int64_t> RetryingStore::jobs_using(const std::string& sha256) {
  return retry("jobs_using", [&] { return inner_->jobs_using(sha256); });
}

std::vector<AssetRow> RetryingStore::job_output_assets(int64_t job_id) {
  return retry("job_output_assets", [&] { return inner_->job_output_assets(job_id); });
}

std::vector<std::pair<std::string, AssetHashes>> RetryingStore::hashed_assets() {
  return retry("hashed_assets", [&] { return inner_->hashed_assets(); });
}

int64_t RetryingStore::quarantined_upstream(int64_t job_id) {
  return retry("quarantined_upstream", [&] { return inner_->quarantined_upstream(job_id); });
}

void RetryingStore::register_model(const ModelRow& m) {
  return retry("register_model", [&] { return inner_->register_model(m); });
}

std::optional<ModelRow> RetryingStore::find_model(const std::string& sha256_or_name) {
  return retry("find_model", [&] { return inner_->find_model(sha256_or_name); });
}

std::vector<ModelRow> RetryingStore::list_models() {
  return retry("list_models", [&] { return inner_->list_models(); });
}

bool RetryingStore::add_signing_key(const SigningKeyRow& k) {
  return retry("add_signing_key", [&] { return inner_->add_signing_key(k); });
}

std::optional<SigningKeyRow> RetryingStore::find_signing_key(const std::string& key_id) {
  return retry("find_signing_key", [&] { return inner_->find_signing_key(key_id); });
}

std::vector<SigningKeyRow> RetryingStore::signing_keys() {
  return retry("signing_keys", [&] { return inner_->signing_keys(); });
}

std::vector<StageJob> RetryingStore::stage_jobs(int64_t run_id, const std::string& stage) {
  return retry("stage_jobs", [&] { return inner_->stage_jobs(run_id, stage); });
}

std::vector<std::pair<int64_t, AssetRow>> RetryingStore::outputs_of_jobs(int64_t first_id,
                                                                         int64_t last_id) {
  return retry("outputs_of_jobs", [&] { return inner_->outputs_of_jobs(first_id, last_id); });
}

std::vector<std::pair<int64_t, InputRef>> RetryingStore::inputs_of_jobs(int64_t first_id,
                                                                        int64_t last_id) {
  return retry("inputs_of_jobs", [&] { return inner_->inputs_of_jobs(first_id, last_id); });
}

std::vector<InputRef> RetryingStore::job_inputs(int64_t job_id) {
  return retry("job_inputs", [&] { return inner_->job_inputs(job_id); });
}

std::vector<InputRef> RetryingStore::asset_sources(const std::string& sha256) {
  return retry("asset_sources", [&] { return inner_->asset_sources(sha256); });
}

std::vector<AssetRow> RetryingStore::dependency_outputs(int64_t job_id) {
  return retry("dependency_outputs", [&] { return inner_->dependency_outputs(job_id); });
}

std::vector<std::string> RetryingStore::asset_shas() {
  return retry("asset_shas", [&] { return inner_->asset_shas(); });
}

std::vector<JobRow> RetryingStore::leased_jobs() {
  return retry("leased_jobs", [&] { return inner_->leased_jobs(); });
}

std::vector<EventRow> RetryingStore::recent_events(int limit) {
  return retry("recent_events", [&] { return inner_->recent_events(limit); });
}

std::vector<EventRow> RetryingStore::events_after(int64_t after_id, int limit) {
  return retry("events_after", [&] { return inner_->events_after(after_id, limit); });
}

std::vector<EventRow> RetryingStore::events_before(int64_t before_id, int limit) {
  return retry("events_before", [&] { return inner_->events_before(before_id, limit); });
}

std::vector<RunRow> RetryingStore::list_runs(const RunFilter& f) {
  return retry("list_runs", [&] { return inner_->list_runs(f); });
}

std::vector<StateCount> RetryingStore::run_counts() {
  return retry("run_counts", [&] { return inner_->run_counts(); });
}

std::vector<KindStateCount> RetryingStore::job_counts_by_kind() {
  return retry("job_counts_by_kind", [&] { return inner_->job_counts_by_kind(); });
}

std::vector<KindStateCount> RetryingStore::unfinished_counts_by_kind() {
  return retry("unfinished_counts_by_kind", [&] { return inner_->unfinished_counts_by_kind(); });
}

std::vector<ThroughputBucket> RetryingStore::throughput(int64_t since_ms, int64_t bucket_ms) {
  return retry("throughput", [&] { return inner_->throughput(since_ms, bucket_ms); });
}

std::vector<WorkerRow> RetryingStore::list_workers() {
  return retry("list_workers", [&] { return inner_->list_workers(); });
}

std::vector<KindDuration> RetryingStore::job_durations() {
  return retry("job_durations", [&] { return inner_->job_durations(); });
}

void RetryingStore::add_session(const SessionRow& s) {
  return retry("add_session", [&] { return inner_->add_session(s); });
}

std::optional<SessionRow> RetryingStore::find_session(const std::string& id_hash, int64_t now_ms) {
  return retry("find_session", [&] { return inner_->find_session(id_hash, now_ms); });
}

void RetryingStore::remove_session(const std::string& id_hash) {
  return retry("remove_session", [&] { return inner_->remove_session(id_hash); });
}

void RetryingStore::add_schedule(const ScheduleRow& s) {
  return retry("add_schedule", [&] { return inner_->add_schedule(s); });
}

std::vector<ScheduleRow> RetryingStore::list_schedules() {
  return retry("list_schedules", [&] { return inner_->list_schedules(); });
}

std::optional<ScheduleRow> RetryingStore::get_schedule(const std::string& name) {
  return retry("get_schedule", [&] { return inner_->get_schedule(name); });
}

bool RetryingStore::remove_schedule(const std::string& name) {
  return retry("remove_schedule", [&] { return inner_->remove_schedule(name); });
}

bool RetryingStore::advance_schedule(const std::string& name, std::optional<int64_t> expected,
                                     int64_t next, std::optional<int64_t> last_fire) {
  return retry("advance_schedule",
               [&] { return inner_->advance_schedule(name, expected, next, last_fire); });
}

bool RetryingStore::record_fire(const ScheduleFire& f) {
  return retry("record_fire", [&] { return inner_->record_fire(f); });
}

std::optional<ScheduleFire> RetryingStore::find_fire(const std::string& schedule, int64_t fire_at) {
  return retry("find_fire", [&] { return inner_->find_fire(schedule, fire_at); });
}

std::vector<ScheduleFire> RetryingStore::schedule_fires(const std::string& schedule, int limit) {
  return retry("schedule_fires", [&] { return inner_->schedule_fires(schedule, limit); });
}

std::vector<NotificationRow> RetryingStore::due_notifications(int64_t now_ms, int limit) {
  return retry("due_notifications", [&] { return inner_->due_notifications(now_ms, limit); });
}

bool RetryingStore::take_notification(int64_t id, int64_t expected_next_at, int64_t lease_until) {
  return retry("take_notification",
               [&] { return inner_->take_notification(id, expected_next_at, lease_until); });
}

void RetryingStore::settle_notification(int64_t id, const std::string& state, int attempts,
                                        int64_t next_at, const std::string& error) {
  return retry("settle_notification",
               [&] { return inner_->settle_notification(id, state, attempts, next_at, error); });
}

std::vector<NotificationRow> RetryingStore::run_notifications(int64_t run_id) {
  return retry("run_notifications", [&] { return inner_->run_notifications(run_id); });
}

int64_t RetryingStore::add_token(const TokenRow& t) {
  return retry("add_token", [&] { return inner_->add_token(t); });
}

std::optional<TokenRow> RetryingStore::use_token(const std::string& secret_hash) {
  return retry("use_token", [&] { return inner_->use_token(secret_hash); });
}

std::vector<TokenRow> RetryingStore::list_tokens() {
  return retry("list_tokens", [&] { return inner_->list_tokens(); });
}

bool RetryingStore::revoke_token(int64_t id) {
  return retry("revoke_token", [&] { return inner_->revoke_token(id); });
}

std::vector<std::string> RetryingStore::kinds_with_work() {
  return retry("kinds_with_work", [&] { return inner_->kinds_with_work(); });
}

std::vector<std::string> RetryingStore::kinds_ready() {
  return retry("kinds_ready", [&] { return inner_->kinds_ready(); });
}

int RetryingStore::remove_finished_runs(int64_t before_ms) {
  return retry("remove_finished_runs", [&] { return inner_->remove_finished_runs(before_ms); });
}

std::string RetryingStore::integrity_check() {
  return retry("integrity_check", [&] { return inner_->integrity_check(); });
}

bool RetryingStore::hold_leadership(std::string_view role) {
  return retry("hold_leadership", [&] { return inner_->hold_leadership(role); });
}

}  // namespace atelier::sql
