// GET /metrics in the Prometheus text format (0.0.4): jobs by kind and state,
// the queue depth (waiting, ready, leased), runs by state, workers by state,
// the duration of succeeded jobs by kind (a summary's _sum and _count), and
// schedule fires by outcome, and the folders seen full with the jobs waiting
// for space. Label values are escaped as the format requires.
#include <sstream>

#include "dashboard/dashboard.h"

namespace atelier::dashboard {

namespace {

std::string label(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void head(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

std::string metrics_text(Store& store) {
  std::ostringstream o;
  head(o, "atelier_jobs", "gauge", "Jobs by kind and state.");
  std::map<std::string, int64_t> depth;
  for (const KindStateCount& k : store.job_counts_by_kind()) {
    o << "atelier_jobs{kind=\"" << label(k.kind) << "\",state=\"" << label(k.state) << "\"} "
      << k.count << "\n";
    if (k.state == "waiting" || k.state == "ready" || k.state == "leased") depth[k.kind] += k.count;
  }
  head(o, "atelier_queue_depth", "gauge", "Unfinished jobs (waiting, ready, leased) by kind.");
  for (const auto& [kind, n] : depth)
    o << "atelier_queue_depth{kind=\"" << label(kind) << "\"} " << n << "\n";
  head(o, "atelier_runs", "gauge", "Runs by state.");
  for (const StateCount& s : store.run_counts())
    o << "atelier_runs{state=\"" << label(s.key) << "\"} " << s.count << "\n";
  head(o, "atelier_workers", "gauge", "Worker processes by state.");
  std::map<std::string, int> workers;
  for (const WorkerRow& w : store.list_workers()) ++workers[w.state];
  for (const auto& [state, n] : workers)
    o << "atelier_workers{state=\"" << label(state) << "\"} " << n << "\n";
  head(o, "atelier_job_duration_seconds", "summary", "Run time of succeeded jobs by kind.");
  for (const KindDuration& d : store.job_durations()) {
    o << "atelier_job_duration_seconds_sum{kind=\"" << label(d.kind) << "\"} "
      << d.total_ms / 1000.0 << "\n";
    o << "atelier_job_duration_seconds_count{kind=\"" << label(d.kind) << "\"} " << d.count << "\n";
  }
  head(o, "atelier_schedule_fires_total", "counter", "Schedule fires by outcome.");
  std::map<std::string, int64_t> fires;
  for (const ScheduleFire& f : store.schedule_fires("", 1'000'000)) ++fires[f.outcome];
  for (const auto& [outcome, n] : fires)
    o << "atelier_schedule_fires_total{outcome=\"" << label(outcome) << "\"} " << n << "\n";
  const std::vector<DiskFullRow> full = store.disk_full();
  head(o, "atelier_disk_full", "gauge",
       "1 for each folder seen full, by host and path (jobs wait for space there).");
  for (const DiskFullRow& d : full)
    o << "atelier_disk_full{host=\"" << label(d.host) << "\",path=\"" << label(d.path) << "\"} 1\n";
  head(o, "atelier_jobs_waiting_for_space", "gauge",
       "Jobs that met a full disk and wait for space (no attempt spent).");
  o << "atelier_jobs_waiting_for_space "
    << (full.empty() ? 0 : store.waiting_for_space(std::nullopt)) << "\n";
  return o.str();
}

void add_metrics(Router& r) {
  r.add("GET", "/metrics", Need::read, [](Ctx& c) {
    Reply rep;
    rep.content_type = "text/plain; version=0.0.4; charset=utf-8";
    rep.body = c.env.metrics_cache.get(c.env.options.summary_ttl_ms > 0,
                                       [&] { return metrics_text(c.store); });
    return rep;
  });
}

}  // namespace atelier::dashboard
