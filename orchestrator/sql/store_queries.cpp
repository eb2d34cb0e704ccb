// Reads for the CLI, the supervisor and tests, plus retention and integrity.
#include <algorithm>

#include "sql_store.h"

namespace atelier::sql {

namespace {

#define JOB_COLUMNS                                                               \
  "id, run_id, stage, kind, state, params, matrix, priority, attempt, failures, " \
  "max_attempts, run_after, created_at, lease_owner, error, lease_expires_at, "   \
  "started_at, finished_at, cancel_requested_at, progress, progress_msg, "        \
  "cancel_requested, timeout_ms"

std::optional<int64_t> opt_i64(const Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}
std::optional<std::string> opt_str(const Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getString();
}

JobRow read_job(Statement& q) {
  JobRow j;
  j.id = q.getColumn(0).getInt64();
  j.run_id = q.getColumn(1).getInt64();
  j.stage = q.getColumn(2).getString();
  j.kind = q.getColumn(3).getString();
  j.state = q.getColumn(4).getString();
  j.params = json::parse(q.getColumn(5).getString());
  j.matrix = json::parse(q.getColumn(6).getString());
  j.priority = q.getColumn(7).getInt();
  j.attempt = q.getColumn(8).getInt();
  j.failures = q.getColumn(9).getInt();
  j.max_attempts = q.getColumn(10).getInt();
  j.run_after = q.getColumn(11).getInt64();
  j.created_at = q.getColumn(12).getInt64();
  j.lease_owner = opt_str(q.getColumn(13));
  j.error = opt_str(q.getColumn(14));
  j.lease_expires_at = opt_i64(q.getColumn(15));
  j.started_at = opt_i64(q.getColumn(16));
  j.finished_at = opt_i64(q.getColumn(17));
  j.cancel_requested_at = opt_i64(q.getColumn(18));
  j.progress = q.getColumn(19).getDouble();
  j.progress_msg = q.getColumn(20).getString();
  j.cancel_requested = q.getColumn(21).getInt() != 0;
  j.timeout_ms = q.getColumn(22).getInt64();
  return j;
}

RunRow read_run(Statement& q) {
  RunRow r;
  r.id = q.getColumn(0).getInt64();
  r.name = q.getColumn(1).getString();
  r.spec_path = q.getColumn(2).getString();
  r.spec_sha256 = q.getColumn(3).getString();
  r.submitter = q.getColumn(4).getString();
  r.state = q.getColumn(5).getString();
  r.idem_key = opt_str(q.getColumn(6));
  r.params = json::parse(q.getColumn(7).getString());
  r.created_at = q.getColumn(8).getInt64();
  r.finished_at = opt_i64(q.getColumn(9));
  r.spec_text = q.getColumn(10).getString();
  r.confined = q.getColumn(11).getInt() != 0;
  return r;
}

#define RUN_COLUMNS                                                                    \
  "id, name, spec_path, spec_sha256, submitter, state, idem_key, params, created_at, " \
  "finished_at, "                                                                      \
  "spec_text, confined"

AttemptRow read_attempt(Statement& q) {
  AttemptRow a;
  a.job_id = q.getColumn(0).getInt64();
  a.attempt = q.getColumn(1).getInt();
  a.worker_id = q.getColumn(2).getString();
  a.pid = q.getColumn(3).getInt();
  a.started_at = q.getColumn(4).getInt64();
  a.ended_at = opt_i64(q.getColumn(5));
  a.outcome = q.getColumn(6).getString();
  a.error = opt_str(q.getColumn(7));
  a.log_path = q.getColumn(8).getString();
  return a;
}

#define ATTEMPT_COLUMNS \
  "job_id, attempt, worker_id, pid, started_at, ended_at, outcome, error, log_path"
#define ATTEMPT_COLUMNS_A                                                                   \
  "a.job_id, a.attempt, a.worker_id, a.pid, a.started_at, a.ended_at, a.outcome, a.error, " \
  "a.log_path"

}  // namespace

std::optional<RunRow> SqlStore::get_run(int64_t run_id) {
  auto& q = db_.stmt("SELECT " RUN_COLUMNS " FROM runs WHERE id = ?");
  q.bind(1, run_id);
  std::optional<RunRow> r;
  if (q.executeStep()) r = read_run(q);
  q.reset();
  return r;
}

std::optional<RunRow> SqlStore::latest_run() {
  auto& q = db_.stmt("SELECT " RUN_COLUMNS " FROM runs ORDER BY id DESC LIMIT 1");
  std::optional<RunRow> r;
  if (q.executeStep()) r = read_run(q);
  q.reset();
  return r;
}

std::vector<RunRow> SqlStore::list_runs(const RunFilter& f) {
  auto& q = db_.stmt(
      "SELECT " RUN_COLUMNS
      " FROM runs WHERE id < ?1 AND (CAST(?2 AS TEXT) IS NULL OR state = ?2) ORDER BY id DESC "
      "LIMIT ?3");
  q.bind(1, f.before_id > 0 ? f.before_id : INT64_MAX);
  bind_opt(q, 2, f.state);
  q.bind(3, f.limit);
  std::vector<RunRow> out;
  while (q.executeStep()) out.push_back(read_run(q));
  q.reset();
  return out;
}

std::optional<JobRow> SqlStore::get_job(int64_t job_id) {
  auto& q = db_.stmt("SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?");
  q.bind(1, job_id);
  std::optional<JobRow> j;
  if (q.executeStep()) j = read_job(q);
  q.reset();
  return j;
}

std::vector<SqlStore::IdRange> SqlStore::ranges_of(int64_t run_id) {
  auto& q =
      db_.stmt("SELECT first_id, last_id FROM run_job_ranges WHERE run_id = ? ORDER BY first_id");
  q.bind(1, run_id);
  std::vector<IdRange> out;
  while (q.executeStep()) out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getInt64()});
  q.reset();
  return out;
}

std::vector<JobRow> SqlStore::list_jobs(const JobFilter& f) {
  // NULL filters match everything; keyset pagination on id. A run is its id
  // ranges, read in order, so every page is a rowid range scan with no sort.
  std::vector<IdRange> ranges =
      f.run_id ? ranges_of(*f.run_id) : std::vector<IdRange>{{1, INT64_MAX}};
  std::vector<JobRow> out;
  if (f.before_id) {
    // Newest first: the ranges backwards, each scanned down from below before_id.
    // One statement per filter shape: "(? IS NULL OR state = ?)" would keep
    // SQLite from using the state and kind indexes, and a rare state (dead
    // among a million succeeded) would then scan the table.
    const char* sql =
        f.state && f.kind ? "SELECT " JOB_COLUMNS
                            " FROM jobs WHERE id BETWEEN ?1 AND ?2 AND state = ?3 AND kind = ?4 "
                            "ORDER BY id DESC LIMIT ?5"
        : f.state
            ? "SELECT " JOB_COLUMNS
              " FROM jobs WHERE id BETWEEN ?1 AND ?2 AND state = ?3 AND CAST(?4 AS TEXT) IS NULL "
              "ORDER BY id DESC LIMIT ?5"
        : f.kind
            ? "SELECT " JOB_COLUMNS
              " FROM jobs WHERE id BETWEEN ?1 AND ?2 AND CAST(?3 AS TEXT) IS NULL AND kind = ?4 "
              "ORDER BY id DESC LIMIT ?5"
            : "SELECT " JOB_COLUMNS
              " FROM jobs WHERE id BETWEEN ?1 AND ?2 AND CAST(?3 AS TEXT) IS NULL AND CAST(?4 AS "
              "TEXT) IS NULL "
              "ORDER BY id DESC LIMIT ?5";
    for (auto r = ranges.rbegin(); r != ranges.rend(); ++r) {
      if (static_cast<int>(out.size()) >= f.limit) break;
      if (r->first >= *f.before_id) continue;
      auto& q = db_.stmt(sql);
      q.bind(1, r->first);
      q.bind(2, std::min(r->last, *f.before_id - 1));
      bind_opt(q, 3, f.state);
      bind_opt(q, 4, f.kind);
      q.bind(5, f.limit - static_cast<int>(out.size()));
      while (q.executeStep()) out.push_back(read_job(q));
      q.reset();
    }
    return out;
  }
  for (const IdRange& r : ranges) {
    if (static_cast<int>(out.size()) >= f.limit) break;
    if (r.last <= f.after_id) continue;
    auto& q = db_.stmt(
        "SELECT " JOB_COLUMNS
        " FROM jobs WHERE id BETWEEN ?1 AND ?2 "
        "AND (CAST(?3 AS TEXT) IS NULL OR state = ?3) AND (CAST(?4 AS TEXT) IS NULL OR kind = ?4) "
        "ORDER BY id LIMIT ?5");
    q.bind(1, std::max(r.first, f.after_id + 1));
    q.bind(2, r.last);
    bind_opt(q, 3, f.state);
    bind_opt(q, 4, f.kind);
    q.bind(5, f.limit - static_cast<int>(out.size()));
    while (q.executeStep()) out.push_back(read_job(q));
    q.reset();
  }
  return out;
}

std::vector<StateCount> SqlStore::job_counts(int64_t run_id, bool by_stage) {
  std::vector<StateCount> out;
  auto& q = by_stage
                ? db_.stmt(
                      "SELECT j.stage || '/' || j.state, COUNT(*) FROM run_job_ranges r "
                      "JOIN jobs j ON j.id BETWEEN r.first_id AND r.last_id WHERE r.run_id = ? "
                      "GROUP BY j.stage, j.state ORDER BY MIN(j.id)")
                : db_.stmt(
                      "SELECT j.state, COUNT(*) FROM run_job_ranges r "
                      "JOIN jobs j ON j.id BETWEEN r.first_id AND r.last_id WHERE r.run_id = ? "
                      "GROUP BY j.state");
  q.bind(1, run_id);
  while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getInt64()});
  q.reset();
  return out;
}

std::vector<AttemptRow> SqlStore::attempts(int64_t job_id) {
  auto& q = db_.stmt("SELECT " ATTEMPT_COLUMNS " FROM attempts WHERE job_id = ? ORDER BY attempt");
  q.bind(1, job_id);
  std::vector<AttemptRow> out;
  while (q.executeStep()) out.push_back(read_attempt(q));
  q.reset();
  return out;
}

std::vector<AttemptRow> SqlStore::all_attempts(std::optional<int64_t> run_id) {
  auto& q = run_id ? db_.stmt("SELECT " ATTEMPT_COLUMNS_A
                              " FROM run_job_ranges r JOIN attempts a "
                              "ON a.job_id BETWEEN r.first_id AND r.last_id WHERE r.run_id = ? "
                              "ORDER BY a.job_id, a.attempt")
                   : db_.stmt("SELECT " ATTEMPT_COLUMNS " FROM attempts ORDER BY job_id, attempt");
  if (run_id) q.bind(1, *run_id);
  std::vector<AttemptRow> out;
  while (q.executeStep()) out.push_back(read_attempt(q));
  q.reset();
  return out;
}

std::vector<AssetRow> SqlStore::list_assets(std::optional<int64_t> run_id) {
  auto& q =
      run_id
          ? db_.stmt(
                "SELECT a.sha256, a.media_type, a.ext, o.name, a.bytes, o.job_id, a.created_at "
                "FROM run_job_ranges r JOIN job_outputs o ON o.job_id BETWEEN r.first_id AND "
                "r.last_id "
                "JOIN assets a ON a.sha256 = o.sha256 WHERE r.run_id = ? ORDER BY o.job_id, o.name")
          : db_.stmt(
                "SELECT a.sha256, a.media_type, a.ext, o.name, a.bytes, o.job_id, a.created_at "
                "FROM job_outputs o JOIN assets a ON a.sha256 = o.sha256 ORDER BY o.job_id, "
                "o.name");
  if (run_id) q.bind(1, *run_id);
  std::vector<AssetRow> out;
  while (q.executeStep()) {
    AssetRow a;
    a.sha256 = q.getColumn(0).getString();
    a.media_type = q.getColumn(1).getString();
    a.ext = q.getColumn(2).getString();
    a.name = q.getColumn(3).getString();
    a.bytes = q.getColumn(4).getInt64();
    a.job_id = q.getColumn(5).getInt64();
    a.created_at = q.getColumn(6).getInt64();
    out.push_back(std::move(a));
  }
  q.reset();
  return out;
}

namespace {
AssetRow read_asset(Statement& q) {
  AssetRow a;
  a.sha256 = q.getColumn(0).getString();
  a.media_type = q.getColumn(1).getString();
  a.ext = q.getColumn(2).getString();
  a.bytes = q.getColumn(3).getInt64();
  a.job_id = opt_i64(q.getColumn(4));
  a.created_at = q.getColumn(5).getInt64();
  a.source_path = opt_str(q.getColumn(6));
  a.licence = opt_str(q.getColumn(7));
  if (!q.getColumn(8).isNull()) a.width = q.getColumn(8).getInt();
  if (!q.getColumn(9).isNull()) a.height = q.getColumn(9).getInt();
  if (!q.getColumn(10).isNull() && !q.getColumn(11).isNull() && !q.getColumn(12).isNull())
    a.hashes = AssetHashes{q.getColumn(10).getString(), q.getColumn(11).getInt(),
                           q.getColumn(12).getString()};
  return a;
}
// Rows of ASSET_COLUMNS followed by the output's name.
std::vector<AssetRow> read_named_assets(Statement& q) {
  std::vector<AssetRow> out;
  while (q.executeStep()) {
    out.push_back(read_asset(q));
    out.back().name = q.getColumn(13).getString();
  }
  q.reset();
  return out;
}
#define ASSET_COLUMNS                                                                          \
  "a.sha256, a.media_type, a.ext, a.bytes, a.job_id, a.created_at, a.source_path, a.licence, " \
  "a.width, a.height, a.phash, a.phash_quality, a.colour"
}  // namespace

std::optional<AssetRow> SqlStore::get_asset(const std::string& sha256) {
  auto& q = db_.stmt("SELECT " ASSET_COLUMNS " FROM assets a WHERE a.sha256 = ?");
  q.bind(1, sha256);
  std::optional<AssetRow> r;
  if (q.executeStep()) r = read_asset(q);
  q.reset();
  if (r && r->source_path) r->imports = asset_imports(sha256);
  return r;
}

void SqlStore::import_asset(const ImportedAsset& a) {
  WriteTxn txn(db_);
  auto& ins = db_.stmt(
      "INSERT INTO assets (sha256, media_type, ext, bytes, source_path, licence, created_at, "
      "width, height, phash, phash_quality, colour) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET "
      "source_path = COALESCE(assets.source_path, excluded.source_path), "
      "licence = COALESCE(assets.licence, excluded.licence), "
      "width = COALESCE(assets.width, excluded.width), "
      "height = COALESCE(assets.height, excluded.height), "
      "phash = COALESCE(assets.phash, excluded.phash), "
      "phash_quality = COALESCE(assets.phash_quality, excluded.phash_quality), "
      "colour = COALESCE(assets.colour, excluded.colour)");
  ins.bind(1, a.sha256);
  ins.bind(2, a.media_type);
  ins.bind(3, a.ext);
  ins.bind(4, a.bytes);
  ins.bind(5, a.source_path);
  bind_opt(ins, 6, a.licence);
  ins.bind(7, now());
  bind_opt(ins, 8, a.width);
  bind_opt(ins, 9, a.height);
  bind_hashes(ins, 10, a.hashes);
  ins.exec();
  auto& rec = db_.stmt(
      "INSERT INTO asset_imports (sha256, source_path, licence, imported_by, imported_at) "
      "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING");
  rec.bind(1, a.sha256);
  rec.bind(2, a.source_path);
  rec.bind(3, a.licence.value_or(""));
  rec.bind(4, a.imported_by);
  rec.bind(5, now());
  rec.exec();
  txn.commit();
}

std::vector<AssetImport> SqlStore::asset_imports(const std::string& sha256) {
  auto& q = db_.stmt(
      "SELECT source_path, licence, imported_by, imported_at FROM asset_imports "
      "WHERE sha256 = ? ORDER BY imported_at, source_path, licence");
  q.bind(1, sha256);
  std::vector<AssetImport> out;
  while (q.executeStep()) {
    AssetImport i;
    i.source_path = q.getColumn(0).getString();
    if (std::string l = q.getColumn(1).getString(); !l.empty()) i.licence = std::move(l);
    i.imported_by = q.getColumn(2).getString();
    i.imported_at = q.getColumn(3).getInt64();
    out.push_back(std::move(i));
  }
  q.reset();
  return out;
}

void SqlStore::set_asset_hashes(const std::string& sha256, const AssetHashes& h, int width,
                                int height) {
  auto& up = db_.stmt(
      "UPDATE assets SET phash = ?, phash_quality = ?, colour = ?, "
      "width = COALESCE(width, ?), height = COALESCE(height, ?) "
      "WHERE sha256 = ? AND phash IS NULL");
  up.bind(1, h.phash);
  up.bind(2, h.quality);
  up.bind(3, h.colour);
  up.bind(4, width);
  up.bind(5, height);
  up.bind(6, sha256);
  up.exec();
}

std::vector<InputRef> SqlStore::assets_made_from(const std::string& source_sha256) {
  auto& q = db_.stmt(
      "SELECT sha256, role FROM asset_sources WHERE source_sha256 = ? ORDER BY role, sha256");
  q.bind(1, source_sha256);
  std::vector<InputRef> out;
  while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
  q.reset();
  return out;
}

std::vector<StageJob> SqlStore::stage_jobs(int64_t run_id, const std::string& stage) {
  std::vector<StageJob> out;
  for (const IdRange& r : ranges_of(run_id)) {
    auto& q = db_.stmt(
        "SELECT id, state, matrix FROM jobs WHERE id BETWEEN ? AND ? AND stage = ? AND kind != "
        "'expand' "
        "ORDER BY id");
    q.bind(1, r.first);
    q.bind(2, r.last);
    q.bind(3, stage);
    while (q.executeStep())
      out.push_back({q.getColumn(0).getInt64(),
                     q.getColumn(1).getString(),
                     json::parse(q.getColumn(2).getString()),
                     {}});
    q.reset();
  }
  for (StageJob& j : out) {
    auto& q = db_.stmt(
        "SELECT sha256 FROM job_outputs WHERE job_id = ? AND forward = 1 ORDER BY name, sha256");
    q.bind(1, j.id);
    while (q.executeStep()) j.outputs.push_back(q.getColumn(0).getString());
    q.reset();
  }
  return out;
}

std::vector<InputRef> SqlStore::job_inputs(int64_t job_id) {
  auto& q =
      db_.stmt("SELECT sha256, role FROM asset_inputs WHERE job_id = ? ORDER BY role, sha256");
  q.bind(1, job_id);
  std::vector<InputRef> out;
  while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
  q.reset();
  return out;
}

std::vector<std::pair<int64_t, InputRef>> SqlStore::inputs_of_jobs(int64_t first_id,
                                                                   int64_t last_id) {
  auto& q = db_.stmt(
      "SELECT job_id, sha256, role FROM asset_inputs WHERE job_id BETWEEN ? AND ? "
      "ORDER BY job_id, role, sha256");
  q.bind(1, first_id);
  q.bind(2, last_id);
  std::vector<std::pair<int64_t, InputRef>> out;
  while (q.executeStep())
    out.push_back(
        {q.getColumn(0).getInt64(), {q.getColumn(1).getString(), q.getColumn(2).getString()}});
  q.reset();
  return out;
}

std::vector<AssetRow> SqlStore::dependency_outputs(int64_t job_id) {
  auto& q = db_.stmt("SELECT " ASSET_COLUMNS
                     ", o.name FROM job_deps d JOIN job_outputs o ON o.job_id = d.dep_id "
                     "JOIN assets a ON a.sha256 = o.sha256 WHERE d.job_id = ? AND o.forward = 1 "
                     "ORDER BY d.dep_id, o.name");
  q.bind(1, job_id);
  return read_named_assets(q);
}

std::vector<int64_t> SqlStore::jobs_using(const std::string& sha256) {
  auto& q = db_.stmt("SELECT DISTINCT job_id FROM asset_inputs WHERE sha256 = ? ORDER BY job_id");
  q.bind(1, sha256);
  std::vector<int64_t> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getInt64());
  q.reset();
  return out;
}

std::vector<AssetRow> SqlStore::job_output_assets(int64_t job_id) {
  auto& q = db_.stmt("SELECT " ASSET_COLUMNS
                     ", o.name FROM job_outputs o JOIN assets a ON a.sha256 = o.sha256 "
                     "WHERE o.job_id = ? ORDER BY o.name, o.sha256");
  q.bind(1, job_id);
  return read_named_assets(q);
}

std::vector<std::pair<int64_t, AssetRow>> SqlStore::outputs_of_jobs(int64_t first_id,
                                                                    int64_t last_id) {
  auto& q = db_.stmt("SELECT " ASSET_COLUMNS
                     ", o.name, o.job_id FROM job_outputs o JOIN assets a ON a.sha256 = o.sha256 "
                     "WHERE o.job_id BETWEEN ? AND ? ORDER BY o.job_id, o.name, o.sha256");
  q.bind(1, first_id);
  q.bind(2, last_id);
  std::vector<std::pair<int64_t, AssetRow>> out;
  while (q.executeStep()) {
    AssetRow a = read_asset(q);
    a.name = q.getColumn(13).getString();
    out.emplace_back(q.getColumn(14).getInt64(), std::move(a));
  }
  q.reset();
  return out;
}

std::vector<std::pair<std::string, AssetHashes>> SqlStore::hashed_assets() {
  auto& q = db_.stmt(
      "SELECT sha256, phash, phash_quality, colour FROM assets "
      "WHERE phash IS NOT NULL AND phash_quality IS NOT NULL AND colour IS NOT NULL");
  std::vector<std::pair<std::string, AssetHashes>> out;
  while (q.executeStep())
    out.push_back(
        {q.getColumn(0).getString(),
         {q.getColumn(1).getString(), q.getColumn(2).getInt(), q.getColumn(3).getString()}});
  q.reset();
  return out;
}

std::vector<std::string> SqlStore::asset_shas() {
  auto& q = db_.stmt("SELECT sha256 FROM assets");
  std::vector<std::string> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  q.reset();
  return out;
}

std::vector<JobRow> SqlStore::leased_jobs() {
  auto& q = db_.stmt("SELECT " JOB_COLUMNS " FROM jobs WHERE state = 'leased'");
  std::vector<JobRow> out;
  while (q.executeStep()) out.push_back(read_job(q));
  q.reset();
  return out;
}

namespace {
#define EVENT_COLUMNS "id, at, actor, action, target, details, prev_hash, hash"
EventRow read_event(Statement& q) {
  EventRow e{q.getColumn(0).getInt64(),  q.getColumn(1).getInt64(),  q.getColumn(2).getString(),
             q.getColumn(3).getString(), q.getColumn(4).getString(), json::object(),
             q.getColumn(5).getString()};
  // The log is evidence: a details text that no longer parses is shown as text.
  e.details = json::parse(e.details_text, nullptr, false);
  if (e.details.is_discarded()) e.details = e.details_text;
  if (!q.getColumn(6).isNull()) e.prev_hash = q.getColumn(6).getString();
  if (!q.getColumn(7).isNull()) e.hash = q.getColumn(7).getString();
  return e;
}
}  // namespace

std::vector<EventRow> SqlStore::recent_events(int limit) {
  return events_before(INT64_MAX, limit);
}

namespace {
std::vector<EventRow> read_events(Statement& q, int64_t from_id, int limit) {
  q.bind(1, from_id);
  q.bind(2, limit);
  std::vector<EventRow> out;
  while (q.executeStep()) out.push_back(read_event(q));
  q.reset();
  return out;
}
}  // namespace

std::vector<EventRow> SqlStore::events_before(int64_t before_id, int limit) {
  return read_events(
      db_.stmt("SELECT " EVENT_COLUMNS " FROM events WHERE id < ? ORDER BY id DESC LIMIT ?"),
      before_id, limit);
}

std::vector<EventRow> SqlStore::events_after(int64_t after_id, int limit) {
  return read_events(
      db_.stmt("SELECT " EVENT_COLUMNS " FROM events WHERE id > ? ORDER BY id LIMIT ?"), after_id,
      limit);
}

std::vector<std::string> SqlStore::kinds_with_work() {
  std::vector<std::string> out;
  for (const char* state : {"ready", "leased", "waiting"}) {
    auto& q = db_.stmt("SELECT kind FROM jobs WHERE state = ? GROUP BY kind");
    q.bind(1, state);
    while (q.executeStep()) {
      std::string k = q.getColumn(0).getString();
      if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
    }
    q.reset();
  }
  return out;
}

std::vector<std::string> SqlStore::kinds_ready() {
  std::vector<std::string> out;
  auto& q = db_.stmt("SELECT kind FROM jobs WHERE state = 'ready' GROUP BY kind");
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  q.reset();
  return out;
}

std::vector<InputRef> SqlStore::asset_sources(const std::string& sha256) {
  auto& q = db_.stmt(
      "SELECT source_sha256, role FROM asset_sources WHERE sha256 = ? ORDER BY role, "
      "source_sha256");
  q.bind(1, sha256);
  std::vector<InputRef> out;
  while (q.executeStep()) out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
  q.reset();
  return out;
}

int SqlStore::remove_finished_runs(int64_t before_ms) {
  // Rows go by id range, children first, with foreign keys off for the
  // transaction: with them on, deleting each run would scan every job to check
  // for children (jobs.run_id has no index, see run_job_ranges).
  ForeignKeysOff fk_off(db_);
  WriteTxn txn(db_);
  std::vector<int64_t> runs;
  auto& q = db_.stmt("SELECT id FROM runs WHERE state != 'running' AND finished_at < ?");
  q.bind(1, before_ms);
  while (q.executeStep()) runs.push_back(q.getColumn(0).getInt64());
  q.reset();
  for (int64_t run_id : runs) {
    for (const IdRange& r : ranges_of(run_id)) {
      for (const char* sql : {"DELETE FROM attempts WHERE job_id BETWEEN ?1 AND ?2",
                              "DELETE FROM job_deps WHERE job_id BETWEEN ?1 AND ?2",
                              "DELETE FROM job_outputs WHERE job_id BETWEEN ?1 AND ?2",
                              "DELETE FROM asset_inputs WHERE job_id BETWEEN ?1 AND ?2",
                              "DELETE FROM asset_sources WHERE job_id BETWEEN ?1 AND ?2",
                              "DELETE FROM checks WHERE job_id BETWEEN ?1 AND ?2",
                              "UPDATE assets SET job_id = NULL WHERE job_id BETWEEN ?1 AND ?2",
                              "UPDATE models SET job_id = NULL WHERE job_id BETWEEN ?1 AND ?2",
                              "DELETE FROM jobs WHERE id BETWEEN ?1 AND ?2"}) {
        auto& del = db_.stmt(sql);
        del.bind(1, r.first);
        del.bind(2, r.last);
        del.exec();
      }
    }
    for (const char* sql :
         {"DELETE FROM run_job_ranges WHERE run_id = ?", "DELETE FROM checks WHERE run_id = ?",
          "DELETE FROM runs WHERE id = ?"}) {
      auto& del = db_.stmt(sql);
      del.bind(1, run_id);
      del.exec();
    }
  }
  if (!runs.empty()) {
    // Asset rows nothing refers to any more; their files become orphans that
    // the cleaner removes once they are past the orphan grace.
    db_.exec(
        "DELETE FROM assets WHERE source_path IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM job_outputs o WHERE o.sha256 = assets.sha256) "
        "AND NOT EXISTS (SELECT 1 FROM asset_inputs i WHERE i.sha256 = assets.sha256) "
        "AND NOT EXISTS (SELECT 1 FROM asset_sources s WHERE s.sha256 = assets.sha256) "
        "AND NOT EXISTS (SELECT 1 FROM asset_sources s WHERE s.source_sha256 = assets.sha256)");
  }
  txn.commit();
  return static_cast<int>(runs.size());
}

std::string SqlStore::integrity_check() {
  return db_.integrity_check();
}

}  // namespace atelier::sql
