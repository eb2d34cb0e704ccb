// See views.h.
#include "dashboard/views.h"

#include <fstream>

#include "common/errors.h"
#include "common/json_quote.h"
#include "dashboard/dashboard.h"
#include "orchestrator/audit_chain.h"
#include "orchestrator/ids.h"
#include "orchestrator/run_outputs.h"
#include "orchestrator/run_status.h"
#include "orchestrator/time_text.h"
#include "provenance/lineage.h"

namespace atelier::dashboard {

using json = nlohmann::json;

namespace {

constexpr size_t kGalleryMax = 300;
constexpr size_t kLogTailBytes = 64 * 1024;
constexpr int64_t kThroughputWindowMs = 6 * 3600 * 1000;
constexpr int64_t kThroughputBucketMs = 10 * 60 * 1000;

std::optional<std::string> query(const Ctx& c, const char* k) {
  auto it = c.req.query.find(k);
  if (it == c.req.query.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

int64_t parse_id(const std::string& text, char prefix, const char* what) {
  std::string digits = !text.empty() && text[0] == prefix ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    throw NotFound("no such " + std::string(what) + ": " + text);
  return std::stoll(digits);
}

json opt(const std::optional<int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}
json opt(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

json run_row_json(const RunRow& r) {
  return {{"run", run_ref(r.id)},
          {"id", r.id},
          {"name", r.name},
          {"state", r.state},
          {"spec", r.spec_path},
          {"submitter", r.submitter},
          {"key", opt(r.idem_key)},
          {"created_at", r.created_at},
          {"finished_at", opt(r.finished_at)}};
}

// JSON text of a string; non-ASCII text goes through nlohmann so that invalid
// UTF-8 from a job's error is replaced rather than passed on.
void append_string(std::string& out, std::string_view v) {
  bool ascii = true;
  for (const char ch : v) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
  if (!ascii) {
    out += json(std::string(v)).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  append_json_quoted(out, v);
}

template <typename T>
void append_opt(std::string& out, const std::optional<T>& v) {
  if (!v) {
    out += "null";
  } else if constexpr (std::is_same_v<T, std::string>) {
    append_string(out, *v);
  } else {
    out += std::to_string(*v);
  }
}

// One job as the API lists it, written as text: lists of jobs are the hot
// path of the dashboard (keyset pages over a million jobs), and building a
// JSON tree per row spent most of their time in the allocator. Keys in
// byte order, as nlohmann writes them.
void append_job_row(std::string& out, const JobRow& j) {
  out += "{\"attempt\":" + std::to_string(j.attempt);
  out += ",\"cancel_requested\":";
  out += j.cancel_requested ? "true" : "false";
  out += ",\"created_at\":" + std::to_string(j.created_at);
  out += ",\"error\":";
  append_opt(out, j.error);
  out += ",\"failures\":" + std::to_string(j.failures);
  out += ",\"finished_at\":";
  append_opt(out, j.finished_at);
  out += ",\"id\":" + std::to_string(j.id);
  out += ",\"job\":\"" + job_ref(j.id) + "\",\"kind\":";
  append_string(out, j.kind);
  out += ",\"lease_owner\":";
  append_opt(out, j.lease_owner);
  out += ",\"matrix\":" + j.matrix.dump(-1, ' ', false, json::error_handler_t::replace);
  out += ",\"max_attempts\":" + std::to_string(j.max_attempts);
  out += ",\"progress\":" + json(j.progress).dump();
  out += ",\"progress_msg\":";
  append_string(out, j.progress_msg);
  out += ",\"run\":\"" + run_ref(j.run_id) + "\",\"stage\":";
  append_string(out, j.stage);
  out += ",\"started_at\":";
  append_opt(out, j.started_at);
  out += ",\"state\":";
  append_string(out, j.state);
  out += "}";
}

json job_row_json(const JobRow& j) {
  std::string text;
  append_job_row(text, j);
  return json::parse(text);
}

json asset_row_json(const AssetRow& a) {
  json j = {{"sha256", a.sha256},
            {"media_type", a.media_type},
            {"bytes", a.bytes},
            {"name", a.name},
            {"ext", a.ext},
            {"url", "/assets/" + a.sha256},
            {"page", "/asset/" + a.sha256}};
  j["job"] = a.job_id ? json(job_ref(*a.job_id)) : json(nullptr);
  j["width"] = a.width ? json(*a.width) : json(nullptr);
  j["height"] = a.height ? json(*a.height) : json(nullptr);
  j["source"] = opt(a.source_path);
  j["licence"] = opt(a.licence);
  // Every import, so the same bytes brought in under two licences show both.
  json imports = json::array();
  for (const AssetImport& i : a.imports)
    imports.push_back({{"source", i.source_path},
                       {"licence", opt(i.licence)},
                       {"imported_by", i.imported_by},
                       {"imported_at", i.imported_at}});
  j["imports"] = std::move(imports);
  return j;
}

json check_json(const CheckRow& c) {
  json j = {{"check", c.check_kind}, {"verdict", c.verdict}, {"quarantined", c.quarantined}};
  j["job"] = c.job_id ? json(job_ref(*c.job_id)) : json(nullptr);
  j["gate"] = opt(c.gate);
  for (const char* k : {"label", "reason", "source"})
    if (c.details.contains(k)) j[k] = c.details[k];
  return j;
}

// A run's job counts by state, as run lists show them (see RunCountsCache).
json job_counts_json(Store& store, DashboardEnv& env, const RunRow& r) {
  const int64_t version = r.state != "running" && r.finished_at ? *r.finished_at : 0;
  const int64_t now = env.clock->now_ms();
  if (auto hit = env.run_counts.find(r.id, version, now, env.options.running_counts_ttl_ms))
    return *hit;
  json counts = json::object();
  for (const StateCount& sc : store.job_counts(r.id, false)) counts[sc.key] = sc.count;
  env.run_counts.put(r.id, version, now, counts);
  return counts;
}

}  // namespace

int page_limit(const Ctx& c) {
  if (auto l = query(c, "limit")) {
    const auto v = std::atoll(l->c_str());
    if (v >= 1 && v <= 500) return static_cast<int>(v);
  }
  return c.env.options.page_size;
}

std::optional<int64_t> before_param(const Ctx& c) {
  auto b = query(c, "before");
  if (!b || b->find_first_not_of("0123456789") != std::string::npos || b->size() > 18)
    return std::nullopt;
  return std::stoll(*b);
}

int64_t run_param(const std::string& text) {
  return parse_id(text, 'r', "run");
}
int64_t job_param(const std::string& text) {
  return parse_id(text, 'j', "job");
}

json workers_json(Store& store) {
  json out = json::array();
  for (const WorkerRow& w : store.list_workers())
    out.push_back({{"id", w.id},
                   {"host", w.host},
                   {"pid", w.pid},
                   {"kinds", w.kinds},
                   {"state", w.state},
                   {"job", w.current_job ? json(job_ref(*w.current_job)) : json(nullptr)},
                   {"started_at", w.started_at},
                   {"heartbeat_at", w.heartbeat_at}});
  return out;
}

std::string overview_summary(Store& store, DashboardEnv& env) {
  const int64_t now = env.clock->now_ms();
  json queue = json::array();
  for (const KindStateCount& k : store.job_counts_by_kind())
    queue.push_back({{"kind", k.kind}, {"state", k.state}, {"count", k.count}});
  json tp = json::array();
  for (const ThroughputBucket& b : store.throughput(now - kThroughputWindowMs, kThroughputBucketMs))
    tp.push_back({{"start", b.start_ms}, {"succeeded", b.succeeded}, {"failed", b.failed}});
  json recent = json::array();
  for (const RunRow& r : store.list_runs({std::nullopt, 0, 10})) {
    json j = run_row_json(r);
    j["jobs"] = job_counts_json(store, env, r);
    recent.push_back(std::move(j));
  }
  json full = disk_full_json(store);
  const int64_t waiting = full.empty() ? 0 : store.waiting_for_space(std::nullopt);
  return json{{"now", now},
              {"disk_full", full},
              {"waiting_for_space", waiting},
              {"queue", queue},
              {"throughput", {{"bucket_ms", kThroughputBucketMs}, {"buckets", tp}}},
              {"workers", workers_json(store)},
              {"paused", store.paused_kinds()},
              {"runs", recent}}
      .dump();
}

json overview_json(Ctx& c) {
  return json::parse(c.env.overview_cache.get(c.env.options.summary_ttl_ms > 0,
                                              [&] { return overview_summary(c.store, c.env); }));
}

json runs_json(Ctx& c) {
  RunFilter f;
  f.state = query(c, "state");
  f.before_id = before_param(c).value_or(0);
  f.limit = page_limit(c);
  json runs = json::array();
  const auto rows = c.store.list_runs(f);
  for (const RunRow& r : rows) {
    json j = run_row_json(r);
    j["jobs"] = job_counts_json(c.store, c.env, r);
    runs.push_back(std::move(j));
  }
  const bool more = static_cast<int>(rows.size()) == f.limit;
  return {{"runs", runs}, {"next_before", more ? json(rows.back().id) : json(nullptr)}};
}

json run_json(Ctx& c, int64_t run_id) {
  auto run = c.store.get_run(run_id);
  if (!run) throw NotFound("no such run: " + run_ref(run_id));
  json out = run_status_json(c.store, *run);
  out["id"] = run->id;
  out["params"] = run->params;
  std::map<std::string, int> verdicts_failed;
  for (const CheckRow& ch : c.store.run_checks(run_id))
    if (ch.sha256 && ch.verdict != "pass") ++verdicts_failed[*ch.sha256];
  json stage_kinds = json::object(), stage_order = json::array(), images = json::array(),
       videos = json::array();
  size_t more_images = 0;
  json leased = json::array();
  visit_run_outputs(c.store, run_id, [&](JobRow& j, const std::vector<JobOutput>& outputs) {
    if (!stage_kinds.contains(j.stage)) stage_order.push_back(j.stage);  // jobs come in id order
    stage_kinds[j.stage] = j.kind;
    if (j.state == "leased")
      leased.push_back({{"job", job_ref(j.id)},
                        {"stage", j.stage},
                        {"progress", j.progress},
                        {"progress_msg", j.progress_msg}});
    for (const JobOutput& o : outputs) {
      if (!o.made_here) continue;
      const bool image = o.asset.media_type.rfind("image/", 0) == 0;
      const bool video = o.asset.media_type.rfind("video/", 0) == 0;
      if (!image && !video) continue;
      json a = asset_row_json(o.asset);
      a["stage"] = j.stage;
      a["not_passed"] = verdicts_failed.count(o.asset.sha256) ? verdicts_failed[o.asset.sha256] : 0;
      if (video) {
        videos.push_back(std::move(a));
      } else if (images.size() < kGalleryMax) {
        images.push_back(std::move(a));
      } else {
        ++more_images;
      }
    }
  });
  out["stage_kinds"] = stage_kinds;
  out["stage_order"] = stage_order;
  out["running"] = leased;
  out["images"] = images;
  out["more_images"] = more_images;
  out["videos"] = videos;
  return out;
}

std::string jobs_json_text(Ctx& c) {
  JobFilter f;
  if (auto r = query(c, "run")) f.run_id = run_param(*r);
  f.state = query(c, "state");
  f.kind = query(c, "kind");
  f.before_id = before_param(c).value_or(std::numeric_limits<int64_t>::max());
  f.limit = page_limit(c);
  const auto rows = c.store.list_jobs(f);
  std::string out = "{\"jobs\":[";
  out.reserve(static_cast<size_t>(f.limit) * 400);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out += ',';
    append_job_row(out, rows[i]);
  }
  const bool more = static_cast<int>(rows.size()) == f.limit;
  out += "],\"next_before\":" + (more ? std::to_string(rows.back().id) : std::string("null")) + "}";
  return out;
}

json jobs_json(Ctx& c) {
  return json::parse(jobs_json_text(c));
}

std::string log_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const auto size = static_cast<size_t>(in.tellg());
  const size_t from = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(size - from, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (from > 0) {
    const auto nl = text.find('\n');
    text = "[... " + std::to_string(from) + " earlier bytes]\n" +
           (nl == std::string::npos ? text : text.substr(nl + 1));
  }
  return text;
}

json job_json(Ctx& c, int64_t job_id) {
  auto job = c.store.get_job(job_id);
  if (!job) throw NotFound("no such job: " + job_ref(job_id));
  json out = job_row_json(*job);
  out["params"] = job->params;
  json attempts = json::array();
  std::string last_log;
  for (const AttemptRow& a : c.store.attempts(job_id)) {
    attempts.push_back({{"attempt", a.attempt},
                        {"worker", a.worker_id},
                        {"pid", a.pid},
                        {"outcome", a.outcome},
                        {"error", opt(a.error)},
                        {"started_at", a.started_at},
                        {"ended_at", opt(a.ended_at)}});
    last_log = a.log_path;
  }
  out["attempts"] = attempts;
  out["log_tail"] = last_log.empty() ? "" : log_tail(last_log, kLogTailBytes);
  json outputs = json::array();
  for (const AssetRow& a : c.store.job_output_assets(job_id)) outputs.push_back(asset_row_json(a));
  out["outputs"] = outputs;
  return out;
}

json asset_json(Ctx& c, const std::string& sha256) {
  auto a = c.store.get_asset(sha256);
  if (!a) throw NotFound("no such asset: " + sha256);
  json out = asset_row_json(*a);
  json checks = json::array();
  for (const CheckRow& ch : c.store.asset_checks(sha256)) checks.push_back(check_json(ch));
  out["checks"] = checks;
  out["lineage"] = provenance::lineage_json(provenance::trace_upstream(c.store, sha256));
  return out;
}

json schedules_json(Ctx& c) {
  json out = json::array();
  for (const ScheduleRow& s : c.store.list_schedules()) {
    json fires = json::array();
    for (const ScheduleFire& f : c.store.schedule_fires(s.name, 5))
      fires.push_back({{"fire_at", f.fire_at},
                       {"outcome", f.outcome},
                       {"run", f.run_id ? json(run_ref(*f.run_id)) : json(nullptr)},
                       {"detail", f.detail}});
    out.push_back({{"name", s.name},
                   {"cron", s.cron},
                   {"timezone", s.timezone},
                   {"spec", s.spec_path},
                   {"params", s.params},
                   {"missed", s.missed},
                   {"enabled", s.enabled},
                   {"next_fire_at", opt(s.next_fire_at)},
                   {"last_fire_at", opt(s.last_fire_at)},
                   {"fires", fires}});
  }
  return {{"schedules", out}};
}

json audit_json(Ctx& c) {
  const int limit = page_limit(c);
  json out = json::array();
  const auto rows =
      c.store.events_before(before_param(c).value_or(std::numeric_limits<int64_t>::max()), limit);
  for (const EventRow& e : rows) out.push_back(audit_entry_json(e));
  const bool more = static_cast<int>(rows.size()) == limit;
  return {{"events", out}, {"next_before", more ? json(rows.back().id) : json(nullptr)}};
}

}  // namespace atelier::dashboard
