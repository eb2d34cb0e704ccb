// The store interface: every read and write of the job database goes through it,
// whichever engine holds the database (sql/sql_store.h: SQLite or PostgreSQL,
// DESIGN.md s.9).
// Queue guarantees (DESIGN.md s.3) are the store's contract:
//  - claim bumps `attempt`, the fencing token; heartbeat, complete and fail must
//    present it and are refused (FenceResult::lost) once another claim took over;
//  - completion records outputs and lineage, marks succeeded and promotes the
//    dependents whose dependencies all succeeded, in one transaction;
//  - a job that ends dead or cancelled skips every waiting job downstream of it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "job_state.h"

namespace atelier {

using json = nlohmann::json;

struct NewJob {
  std::string stage;
  std::string kind;
  // Shared: every job of a stage has the same params, so a large matrix holds
  // (and the store serialises) them once.
  std::shared_ptr<const json> params = std::make_shared<const json>(json::object());
  json matrix = json::object();
  int priority = 0;
  int max_attempts = 3;
  int64_t timeout_ms = 0;
  std::vector<size_t> deps;      // indices into NewRun::jobs (earlier or later)
  std::vector<int64_t> dep_ids;  // existing jobs (for jobs a running job spawns)
};

// Where to post a summary when the run ends (a spec's `notify:`), and for
// which end states (succeeded, failed, cancelled).
struct RunNotify {
  std::string url;
  std::vector<std::string> on;
};

struct NewRun {
  std::string name;
  std::string spec_path;
  std::string spec_text;
  std::string spec_sha256;
  json params = json::object();
  std::optional<std::string> idem_key;
  std::string submitter;
  // Submitted over the API: its files and outputs are confined (file_scope.h).
  bool confined = false;
  std::vector<NewJob> jobs;
  std::vector<RunNotify> notify;
};

struct SubmitResult {
  int64_t run_id = 0;
  bool existing = false;  // the idempotency key named a run that already exists
};

struct ClaimRequest {
  std::string worker_id;
  int pid = 0;
  std::vector<std::string> kinds;
  int max_jobs = 1;
  int64_t lease_ms = 30'000;
  std::string log_dir;  // attempt logs go to <log_dir>/j<job>/a<attempt>.log
};

struct Lease {
  int64_t job_id = 0;
  int64_t run_id = 0;
  std::string stage;
  std::string kind;
  json params;
  json matrix;
  int attempt = 0;  // fencing token
  int max_attempts = 0;
  int64_t timeout_ms = 0;
  int64_t lease_expires_at = 0;
  std::string log_path;
};

enum class FenceResult { ok, lost };

struct HeartbeatResult {
  FenceResult fence = FenceResult::ok;
  bool cancel_requested = false;
};

struct InputRef {
  std::string sha256;
  std::string role;  // e.g. "image", "model", "lora"
};

// Perceptual hashes of an image asset as stored (media/hash/image_hashes.h): PDQ
// hex, its quality (0..100; under 50: unhashable) and the colour layout's text form.
struct AssetHashes {
  std::string phash;
  int quality = 0;
  std::string colour;
};

struct OutputAsset {
  std::string sha256;
  std::string media_type;
  std::string ext;
  int64_t bytes = 0;
  std::string name;  // the job's name for it (e.g. "out.txt")
  std::optional<int> width, height;
  std::optional<int64_t> duration_ms;
  // The inputs this output was made from, when the kind knows (a caption's image).
  std::vector<InputRef> sources;
  std::optional<AssetHashes> hashes;  // images
  // False for a record of the job (a check's report) that later stages do not
  // receive as input.
  bool forward = true;
};

// A verdict of the check kind, on one asset or (no sha256) on the job's batch.
struct CheckVerdict {
  std::optional<std::string> sha256;
  std::string check_kind;  // copyright, terms, licence, bias
  std::string verdict;     // pass, warn, not_checked (nothing compared), fail
  std::optional<double> score;
  json details = json::object();
  std::optional<std::string> gate;  // the stage's gate: fail or warn
  bool quarantined = false;         // the gate kept the asset out of later stages
};

struct CheckRow : CheckVerdict {
  int64_t id = 0;
  std::optional<int64_t> run_id, job_id;
  int64_t created_at = 0;
};

// A protected work the copyright check compares against: its hashes and origin.
struct RegistryEntry {
  int64_t id = 0;
  std::string label, sha256, source_path;
  int width = 0, height = 0;
  AssetHashes hashes;
  int64_t added_at = 0;
};

// A model known to the workspace (DESIGN.md s.6: lineage names models by sha256).
struct ModelRow {
  std::string sha256, kind, name;
  json params = json::object();
  std::optional<int64_t> job_id;
  std::optional<std::string> path;  // where the weights are, unless stored as an asset
  int64_t created_at = 0;
};

struct Completion {
  int64_t job_id = 0;
  int attempt = 0;
  std::vector<OutputAsset> outputs;
  std::vector<InputRef> inputs;
  // Jobs this job adds to its run (an expand job making a dynamic stage). Every
  // job that waited for this one also waits for each of them.
  std::vector<NewJob> spawned;
  std::vector<CheckVerdict> checks;
  // Set when the job did not run because a check gate upstream quarantined every
  // input it would have had: the job ends `skipped` with this reason, and its
  // dependents go on as after a success (with nothing from it).
  std::optional<std::string>
      skipped;  // Models the job used or made (registered as by register_model, in the same
  // transaction, so a fenced-out attempt registers nothing).
  std::vector<ModelRow> models;
};

enum class FailKind {
  error,          // the job threw: retry with backoff while attempts remain
  crashed,        // its worker died under it
  lease_expired,  // nobody heartbeated it in time
  timeout,        // it ran past its stage timeout
  cancelled,      // it stopped because cancel was requested
  released,       // a draining or dead worker gave it back unstarted: does not count
  invalid,        // bad input (params, files): retrying cannot help, so dead at once
  disk_full,      // a file system it writes to is full: waits for space, does not count
};
std::string_view to_string(FailKind k);

// A folder whose file system a job found full (disk_full table): present from
// the first disk-full attempt until space comes back (Store::space_returned, or
// a job that had waited for space completing on that host).
struct DiskFullRow {
  std::string host, path;   // where it was seen; a path means something on one host
  std::string error;        // the last error
  int64_t free_bytes = -1;  // available bytes when last seen (-1: unknown)
  int64_t since = 0, seen_at = 0;
};

struct RunRow {
  int64_t id = 0;
  std::string name, spec_path, spec_sha256, submitter, state, spec_text;
  std::optional<std::string> idem_key;
  json params;
  int64_t created_at = 0;
  std::optional<int64_t> finished_at;
  bool confined = false;  // see NewRun
};

struct JobRow {
  int64_t id = 0, run_id = 0;
  std::string stage, kind, state;
  json params, matrix;
  int priority = 0, attempt = 0, failures = 0, max_attempts = 0;
  int64_t run_after = 0, created_at = 0;
  std::optional<std::string> lease_owner, error;
  std::optional<int64_t> lease_expires_at, started_at, finished_at, cancel_requested_at;
  double progress = 0;
  std::string progress_msg;
  bool cancel_requested = false;
  int64_t timeout_ms = 0;
};

struct AttemptRow {
  int64_t job_id = 0;
  int attempt = 0;
  std::string worker_id, outcome, log_path;
  int pid = 0;
  int64_t started_at = 0;
  std::optional<int64_t> ended_at;
  std::optional<std::string> error;
};

// One import of an asset's bytes: where they came from and under which licence.
// The same bytes imported twice keep both records (asset_imports table).
struct AssetImport {
  std::string source_path;
  std::optional<std::string> licence;  // none declared
  std::string imported_by;
  int64_t imported_at = 0;
};

struct AssetRow {
  std::string sha256, media_type, ext, name;
  int64_t bytes = 0;
  std::optional<int64_t> job_id;
  int64_t created_at = 0;
  std::optional<std::string> source_path, licence;  // the first import's
  std::optional<int> width, height;
  std::optional<AssetHashes> hashes;
  // Every import of these bytes (filled by get_asset only; empty for outputs).
  std::vector<AssetImport> imports;
};

// A file brought in from outside (a spec's `images:` folder, an `audio:` file).
struct ImportedAsset {
  std::string sha256, media_type, ext, source_path;
  int64_t bytes = 0;
  std::optional<std::string> licence;
  std::string imported_by;  // the submitter
  std::optional<int> width, height;
  std::optional<AssetHashes> hashes;  // images the importing binary can decode
};

// A job of a stage with its matrix values and outputs (for dynamic expansion).
struct StageJob {
  int64_t id = 0;
  std::string state;
  json matrix;
  std::vector<std::string> outputs;  // sha256, by output name
};

// A public key whose signatures the workspace trusts (provenance/signing.h):
// its own ('workspace') or one added with `atelier key import` ('imported').
struct SigningKeyRow {
  std::string key_id, public_key;  // 16 and 64 hex digits
  std::string origin;              // workspace, imported
  std::string label;               // where an imported key came from
  int64_t created_at = 0;
};

struct WorkerInfo {
  std::string id, host, kinds;
  int pid = 0;
};

struct EventRow {
  int64_t id = 0, at = 0;
  std::string actor, action, target;
  json details;
  std::string details_text;                    // as stored: the hash covers these bytes
  std::optional<std::string> prev_hash, hash;  // the audit chain (audit_chain.h)
};

// A cron schedule (schedules table): submits spec_path with params (as --set
// values) at each fire time of `cron` read in `timezone`. missed: "skip" or
// "catch-up" (scheduler.h).
struct ScheduleRow {
  std::string name, cron, timezone = "UTC", spec_path;
  json params = json::object();
  std::string missed = "skip";
  bool enabled = true;
  std::optional<int64_t> next_fire_at, last_fire_at;
  int64_t created_at = 0;
  std::string created_by;
  bool confined = false;  // added over the API: its runs are confined (see NewRun)
};

// What a scheduler did at one scheduled instant (schedule_fires table).
struct ScheduleFire {
  std::string schedule;
  int64_t fire_at = 0, fired_at = 0;
  std::string outcome;  // submitted, skipped, failed
  std::optional<int64_t> run_id;
  std::string detail;
};

// A webhook delivery for a run's end (notifications table).
struct NotificationRow {
  int64_t id = 0, run_id = 0;
  std::string url;
  std::vector<std::string> on;
  std::string state;  // waiting, delivered, failed, skipped
  int attempts = 0;
  int64_t next_at = 0;
  std::string last_error;
  std::string run_state;  // the run's state when read
};

// An API token (tokens table): only the sha256 of its secret is stored.
struct TokenRow {
  int64_t id = 0;
  std::string name, role, secret_hash;
  int64_t created_at = 0;
  std::string created_by;
  std::optional<int64_t> revoked_at, last_used_at;
};

struct JobFilter {
  std::optional<int64_t> run_id;
  std::optional<std::string> state, kind;
  int64_t after_id = 0;
  // When set: jobs with ids below it, newest first (the dashboard's keyset
  // pages); otherwise ids above after_id, oldest first.
  std::optional<int64_t> before_id;
  int limit = 1000;
};

// Runs newest first, below before_id (0: from the newest).
struct RunFilter {
  std::optional<std::string> state;
  int64_t before_id = 0;
  int limit = 50;
};

struct KindStateCount {
  std::string kind, state;
  int64_t count = 0;
};

// Jobs that finished in [start_ms, start_ms + bucket).
struct ThroughputBucket {
  int64_t start_ms = 0, succeeded = 0, failed = 0;
};

struct WorkerRow {
  std::string id, host, kinds, state;
  int pid = 0;
  std::optional<int64_t> current_job;
  int64_t started_at = 0, heartbeat_at = 0;
};

// Succeeded jobs of a kind and their summed run time (started to finished).
struct KindDuration {
  std::string kind;
  int64_t count = 0, total_ms = 0;
};

// A dashboard login (sessions table): the sha256 of the cookie's id, the
// token it was opened with (name and role read through it), its CSRF token.
struct SessionRow {
  std::string id_hash;
  int64_t token_id = 0;
  std::string csrf;
  int64_t created_at = 0, expires_at = 0;
  std::string token_name, role;
};

struct StateCount {
  std::string key;  // a state, or "stage/state"
  int64_t count = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- submission ---------------------------------------------------------
  // Inserts the run and its jobs in one transaction; jobs without deps start
  // ready. With an idempotency key already used, returns that run (existing =
  // true) when spec sha256 and params match, and throws InputError naming it
  // otherwise.
  virtual SubmitResult submit_run(const NewRun& run) = 0;

  // --- queue --------------------------------------------------------------
  // Leases up to max_jobs ready jobs of the given kinds whose run_after has
  // passed, by priority then age, skipping paused kinds and kinds at their
  // concurrency limit. One write transaction.
  virtual std::vector<Lease> claim(const ClaimRequest& req) = 0;
  // Earliest run_after among ready jobs of these kinds, if any (to sleep until).
  virtual std::optional<int64_t> next_ready_at(const std::vector<std::string>& kinds) = 0;
  // Extends the lease; optionally records progress.
  virtual HeartbeatResult heartbeat(int64_t job_id, int attempt, int64_t lease_ms,
                                    std::optional<double> progress = std::nullopt,
                                    const std::string& progress_msg = "") = 0;
  // Each completion is fenced on its own; returns one FenceResult per entry. All
  // are written in one transaction.
  virtual std::vector<FenceResult> complete(const std::vector<Completion>& done) = 0;
  virtual FenceResult fail(int64_t job_id, int attempt, FailKind kind,
                           const std::string& error) = 0;

  // --- a full disk (docs/queue.md) ------------------------------------------
  // Ends the attempt `disk_full` and puts the job back to ready after the
  // disk-full backoff, its failures unchanged (no attempt spent), and records
  // (or refreshes) `seen` in the disk_full table, in one transaction. Fenced
  // like fail(); `seen.since` and `seen.seen_at` are set here.
  virtual FenceResult wait_for_space(int64_t job_id, int attempt, const DiskFullRow& seen) = 0;
  // The folders seen full, oldest first.
  virtual std::vector<DiskFullRow> disk_full() = 0;
  // Space came back at host:path: its row goes and every job waiting for space
  // becomes claimable now. Returns the jobs released, or -1 when no such row.
  virtual int space_returned(const std::string& host, const std::string& path) = 0;
  // Jobs of the run (every run: nullopt) whose last attempt met a full disk and
  // that wait to try again.
  virtual int64_t waiting_for_space(std::optional<int64_t> run_id) = 0;
  // Jobs of the run that ended dead because of a full disk (their error says
  // so: recorded before a full disk was a class of its own) go back to the
  // queue with their attempts reset, and so do the jobs skipped only because of
  // them. Returns how many jobs were revived.
  virtual int revive_disk_full(int64_t run_id) = 0;

  // --- maintenance --------------------------------------------------------
  // Leases past their expiry go back to ready (or dead / cancelled); returns
  // how many.
  virtual int rescue_expired_leases() = 0;
  // Leased jobs held by this worker (to release them when its process died).
  virtual std::vector<Lease> leases_of(const std::string& worker_id) = 0;

  // --- control (audited by the caller's actor) ----------------------------
  // Returns the number of jobs affected.
  virtual int cancel_run(int64_t run_id) = 0;
  virtual int cancel_job(int64_t job_id) = 0;
  virtual int retry_run(int64_t run_id) = 0;
  virtual int retry_job(int64_t job_id) = 0;
  virtual void set_paused(const std::string& kind, bool paused) = 0;
  virtual void set_limit(const std::string& kind, int max_concurrency) = 0;
  virtual std::vector<std::string> paused_kinds() = 0;
  virtual void audit(const std::string& actor, const std::string& action, const std::string& target,
                     const json& details) = 0;

  // --- workers ------------------------------------------------------------
  virtual void register_worker(const WorkerInfo& w) = 0;
  virtual void worker_heartbeat(const std::string& id, const std::string& state,
                                std::optional<int64_t> current_job) = 0;
  virtual void unregister_worker(const std::string& id) = 0;

  // --- queries ------------------------------------------------------------
  virtual std::optional<RunRow> get_run(int64_t run_id) = 0;
  virtual std::optional<RunRow> latest_run() = 0;
  virtual std::optional<JobRow> get_job(int64_t job_id) = 0;
  virtual std::vector<JobRow> list_jobs(const JobFilter& f) = 0;
  // Counts by state for a run; with by_stage, keys are "stage/state".
  virtual std::vector<StateCount> job_counts(int64_t run_id, bool by_stage) = 0;
  virtual std::vector<AttemptRow> attempts(int64_t job_id) = 0;
  virtual std::vector<AttemptRow> all_attempts(std::optional<int64_t> run_id) = 0;
  virtual std::vector<AssetRow> list_assets(std::optional<int64_t> run_id) = 0;
  virtual std::optional<AssetRow> get_asset(const std::string& sha256) = 0;
  // Records an imported file: the asset row (its first source and licence stay
  // there) and one import record per distinct source and licence.
  virtual void import_asset(const ImportedAsset& a) = 0;
  // Every import of the bytes, oldest first (empty for job outputs).
  virtual std::vector<AssetImport> asset_imports(const std::string& sha256) = 0;
  // Fills in the hashes (and size) of an image asset that has none yet.
  virtual void set_asset_hashes(const std::string& sha256, const AssetHashes& h, int width,
                                int height) = 0;
  // The assets made from `source_sha256` (asset_sources read backwards: the
  // captions of an image), with the role the source played.
  virtual std::vector<InputRef> assets_made_from(const std::string& source_sha256) = 0;

  // --- checks -------------------------------------------------------------
  // Adds protected works; an entry whose (sha256, label) is listed already is
  // left as it is. Returns how many were new.
  virtual int add_registry_entries(const std::vector<RegistryEntry>& entries) = 0;
  // Every entry, or those with one label, by id.
  virtual std::vector<RegistryEntry> registry(const std::optional<std::string>& label) = 0;
  virtual std::optional<RegistryEntry> registry_entry(int64_t id) = 0;
  virtual std::vector<CheckRow> run_checks(int64_t run_id) = 0;
  virtual std::vector<CheckRow> asset_checks(const std::string& sha256) = 0;
  // Lineage read downstream: the jobs that consumed an asset (asset_inputs), and
  // every output of a job (forwarded or not), by name.
  virtual std::vector<int64_t> jobs_using(const std::string& sha256) = 0;
  virtual std::vector<AssetRow> job_output_assets(int64_t job_id) = 0;
  // Every asset with perceptual hashes (for tracing a re-encoded copy).
  virtual std::vector<std::pair<std::string, AssetHashes>> hashed_assets() = 0;
  // How many assets the check jobs this job depends on quarantined.
  virtual int64_t quarantined_upstream(int64_t job_id) = 0;
  // Models: registering is idempotent by sha256 (a later path fills a missing one).
  virtual void register_model(const ModelRow& m) = 0;
  // By sha256, else the newest model with that name.
  virtual std::optional<ModelRow> find_model(const std::string& sha256_or_name) = 0;
  virtual std::vector<ModelRow> list_models() = 0;
  // Signing keys: adding is idempotent by key id (returns true when new); the same
  // id with another public key is refused (InputError).
  virtual bool add_signing_key(const SigningKeyRow& k) = 0;
  virtual std::optional<SigningKeyRow> find_signing_key(const std::string& key_id) = 0;
  virtual std::vector<SigningKeyRow> signing_keys() = 0;
  virtual std::vector<StageJob> stage_jobs(int64_t run_id, const std::string& stage) = 0;
  // The lineage inputs recorded for a job at its completion.
  virtual std::vector<InputRef> job_inputs(int64_t job_id) = 0;
  // The same two reads for every job with an id in [first_id, last_id], each row
  // with its job id, in job id order and then as the one-job reads order them
  // (a page of a run's jobs in two reads, not two per job).
  virtual std::vector<std::pair<int64_t, AssetRow>> outputs_of_jobs(int64_t first_id,
                                                                    int64_t last_id) = 0;
  virtual std::vector<std::pair<int64_t, InputRef>> inputs_of_jobs(int64_t first_id,
                                                                   int64_t last_id) = 0;
  // The inputs an asset was made from (asset_sources), by any job.
  virtual std::vector<InputRef> asset_sources(const std::string& sha256) = 0;
  // The assets the job's dependencies produced, in dependency then name order.
  virtual std::vector<AssetRow> dependency_outputs(int64_t job_id) = 0;
  virtual std::vector<std::string> asset_shas() = 0;
  // Every leased job (few at any time): the supervisor enforces cancel, timeouts
  // and lease expiry on the ones its own workers hold.
  virtual std::vector<JobRow> leased_jobs() = 0;
  // The audit log, newest first.
  virtual std::vector<EventRow> recent_events(int limit) = 0;
  // The audit log in id order from after_id (for verifying the chain in pages).
  virtual std::vector<EventRow> events_after(int64_t after_id, int limit) = 0;

  // Newest first, ids below before_id.
  virtual std::vector<EventRow> events_before(int64_t before_id, int limit) = 0;

  // --- dashboard reads ------------------------------------------------------
  virtual std::vector<RunRow> list_runs(const RunFilter& f) = 0;
  virtual std::vector<StateCount> run_counts() = 0;  // runs by state
  // Every job, grouped by kind and state; and only waiting, ready and leased
  // (cheap: the claim index holds them).
  virtual std::vector<KindStateCount> job_counts_by_kind() = 0;
  virtual std::vector<KindStateCount> unfinished_counts_by_kind() = 0;
  // Jobs finished since since_ms (succeeded; dead counts as failed), by bucket.
  virtual std::vector<ThroughputBucket> throughput(int64_t since_ms, int64_t bucket_ms) = 0;
  virtual std::vector<WorkerRow> list_workers() = 0;
  virtual std::vector<KindDuration> job_durations() = 0;

  // --- dashboard sessions ---------------------------------------------------
  virtual void add_session(const SessionRow& s) = 0;
  // The session if it has not expired and its token is not revoked.
  virtual std::optional<SessionRow> find_session(const std::string& id_hash, int64_t now_ms) = 0;
  virtual void remove_session(const std::string& id_hash) = 0;

  // --- schedules ----------------------------------------------------------
  // Adds a schedule; InputError when the name is taken.
  virtual void add_schedule(const ScheduleRow& s) = 0;
  virtual std::vector<ScheduleRow> list_schedules() = 0;
  virtual std::optional<ScheduleRow> get_schedule(const std::string& name) = 0;
  // Removes the schedule (its fires stay, as history); false when there was none.
  virtual bool remove_schedule(const std::string& name) = 0;
  // Moves next_fire_at from `expected` (nullopt: NULL) to `next`, and sets
  // last_fire_at when given. False when another scheduler moved it first.
  virtual bool advance_schedule(const std::string& name, std::optional<int64_t> expected,
                                int64_t next, std::optional<int64_t> last_fire) = 0;
  // Records what was done at a fire time; false when a fire at that time was
  // recorded already (by this or another scheduler).
  virtual bool record_fire(const ScheduleFire& f) = 0;
  virtual std::optional<ScheduleFire> find_fire(const std::string& schedule, int64_t fire_at) = 0;
  // Newest first; every schedule's when `schedule` is empty.
  virtual std::vector<ScheduleFire> schedule_fires(const std::string& schedule, int limit) = 0;

  // --- notifications --------------------------------------------------------
  // Waiting deliveries whose run has ended and whose next attempt is due.
  virtual std::vector<NotificationRow> due_notifications(int64_t now_ms, int limit) = 0;
  // Takes the attempt due at `expected_next_at` by moving it to `lease_until`;
  // false when another process took it first.
  virtual bool take_notification(int64_t id, int64_t expected_next_at, int64_t lease_until) = 0;
  // Records the attempt's result: state waiting (with next_at for the retry),
  // delivered, failed or skipped.
  virtual void settle_notification(int64_t id, const std::string& state, int attempts,
                                   int64_t next_at, const std::string& error) = 0;
  virtual std::vector<NotificationRow> run_notifications(int64_t run_id) = 0;

  // --- tokens -------------------------------------------------------------
  virtual int64_t add_token(const TokenRow& t) = 0;
  // An unrevoked token with this secret hash (and notes its use).
  virtual std::optional<TokenRow> use_token(const std::string& secret_hash) = 0;
  virtual std::vector<TokenRow> list_tokens() = 0;
  virtual bool revoke_token(int64_t id) = 0;

  // Kinds that have ready, leased or waiting jobs, in that order of urgency
  // (the supervisor spawns for them).
  virtual std::vector<std::string> kinds_with_work() = 0;
  // Kinds that have ready (claimable now) jobs.
  virtual std::vector<std::string> kinds_ready() = 0;

  // Deletes finished runs (and their jobs) finished before `before_ms`, and
  // asset rows no remaining job produced or consumed. Returns runs removed.
  virtual int remove_finished_runs(int64_t before_ms) = 0;
  virtual std::string integrity_check() = 0;
  // True while this connection is the one leader for `role` among every process
  // of the database, on any host (the lease rescuer runs on the leader only).
  // Leadership ends with the connection; ask again before each round.
  virtual bool hold_leadership(std::string_view role) = 0;

  // Called after a commit that made at least one job ready (to wake idle
  // workers). Not called inside a transaction.
  virtual void set_ready_hook(std::function<void()> hook) = 0;
};

}  // namespace atelier
