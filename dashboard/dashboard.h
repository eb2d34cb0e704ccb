// The dashboard behind `atelier serve`: routes, who may do what, and the
// request flow (route -> access -> handler -> errors as status codes). Poco
// stays in server.cpp; everything here takes a Request and returns a Reply.
//
// Access (DESIGN.md s.8): reading is open to anyone only when the server is
// bound to loopback and open_read is on; otherwise it needs a viewer token or
// session. Every action needs an admin token, and an action made with a
// browser session cookie must also carry that session's CSRF token (a form
// field `csrf` or the X-CSRF-Token header). Every action is audited with who
// did it. Failed logins (a wrong token in the form, a bearer token that is not
// valid) are limited per client and audited per window (login_throttle.h).
#pragma once
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dashboard/login_throttle.h"
#include "dashboard/router.h"
#include "orchestrator/clock.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"

namespace atelier::dashboard {

struct DashboardOptions {
  bool open_read = true;  // anonymous reads (honoured only on a loopback bind)
  bool loopback = true;   // the server is bound to a loopback address
  int64_t session_ms = 12LL * 3600 * 1000;
  int64_t live_poll_ms = 500;  // how often a live stream looks for changes
  int64_t live_ping_ms = 15'000;
  int page_size = 50;
  // The overview and /metrics count every job; with a million jobs that takes
  // longer than a page should wait, so a background thread recomputes them this
  // often and requests read the last figures (0: computed on every request).
  int64_t summary_ttl_ms = 2000;
  // A running run's job counts in lists of runs are reused for this long.
  int64_t running_counts_ttl_ms = 1000;
  LoginLimits logins;  // failed logins per client before it is refused for a while
};

// The last computed value of a summary. With a refresher (Dashboard keeps one
// when summary_ttl_ms > 0) requests only read it; without one, or before the
// first refresh, the reader computes it.
class SummaryCache {
 public:
  template <typename F>
  std::string get(bool refreshed_elsewhere, F compute) {
    if (refreshed_elsewhere) {
      std::lock_guard lock(mu_);
      if (has_) return value_;
    }
    std::string fresh = compute();
    put(fresh);
    return fresh;
  }
  void put(std::string v) {
    std::lock_guard lock(mu_);
    value_ = std::move(v);
    has_ = true;
  }

 private:
  std::mutex mu_;
  std::string value_;
  bool has_ = false;
};

// Job counts of runs as lists show them. A finished run's cannot change while
// it stays finished (a retry reopens it, which changes its finished_at), so
// they are read once; a running run's are reused for running_ttl_ms. Bounded:
// cleared when it grows past kMaxEntries.
class RunCountsCache {
 public:
  // The cached counts, or nullopt when the caller should count (and put). When
  // a running run's entry goes stale, one caller is sent to count it again and
  // the others keep the stale counts meanwhile, so a busy list does not have
  // every request count the same run at once.
  std::optional<nlohmann::json> find(int64_t run_id, int64_t version, int64_t now_ms,
                                     int64_t running_ttl_ms) {
    std::lock_guard lock(mu_);
    auto it = map_.find(run_id);
    if (it == map_.end() || it->second.version != version) return std::nullopt;
    Entry& e = it->second;
    if (version != 0) return e.counts;
    if (running_ttl_ms <= 0) return std::nullopt;
    if (now_ms - e.at < running_ttl_ms) return e.counts;
    if (e.refreshing_since && now_ms - e.refreshing_since < 10'000) return e.counts;
    e.refreshing_since = now_ms;
    return std::nullopt;
  }
  // version: the run's finished_at, or 0 while it runs.
  void put(int64_t run_id, int64_t version, int64_t now_ms, nlohmann::json counts) {
    std::lock_guard lock(mu_);
    if (map_.size() >= kMaxEntries) map_.clear();
    map_[run_id] = {version, now_ms, 0, std::move(counts)};
  }

 private:
  struct Entry {
    int64_t version = 0, at = 0, refreshing_since = 0;
    nlohmann::json counts;
  };
  static constexpr size_t kMaxEntries = 100'000;
  std::mutex mu_;
  std::unordered_map<int64_t, Entry> map_;
};

// One store connection per concurrent request: SqliteStore is single-threaded.
class StorePool {
 public:
  explicit StorePool(std::function<std::unique_ptr<Store>()> open) : open_(std::move(open)) {}
  class Lease {
   public:
    Lease(StorePool& pool, std::unique_ptr<Store> s) : pool_(pool), store_(std::move(s)) {}
    ~Lease() { pool_.give_back(std::move(store_)); }
    Store& operator*() { return *store_; }
    Store* operator->() { return store_.get(); }

   private:
    StorePool& pool_;
    std::unique_ptr<Store> store_;
  };
  Lease acquire();

 private:
  void give_back(std::unique_ptr<Store> s);
  std::function<std::unique_ptr<Store>()> open_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Store>> idle_;
};

// What handlers share: the workspace, the clock, options, and how a run is
// submitted (the same path as `atelier submit`).
struct DashboardEnv {
  const Workspace& ws;
  std::shared_ptr<Clock> clock;
  DashboardOptions options;
  SubmitSchedule submit_schedule;  // for schedule run-now
  std::atomic<bool> stopping{false};
  SummaryCache overview_cache, metrics_cache;
  RunCountsCache run_counts;
  LoginThrottle logins;
};

class Dashboard {
 public:
  Dashboard(const Workspace& ws, std::shared_ptr<Clock> clock, DashboardOptions options,
            SubmitSchedule submit_schedule);
  ~Dashboard();
  Reply handle(Request& req);
  void stop();
  DashboardEnv& env() { return env_; }

 private:
  Principal identify(Request& req, Store& store);
  void refresh_summaries();
  DashboardEnv env_;
  StorePool pool_;
  Router router_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::thread refresher_;
};

// The summaries the refresher keeps (views.cpp, metrics.cpp).
std::string overview_summary(Store& store, DashboardEnv& env);
std::string metrics_text(Store& store);

// Route registration, one file per concern.
void add_read_api(Router& r);  // api_reads.cpp
void add_actions(Router& r);   // actions.cpp
void add_pages(Router& r);     // pages.cpp
void add_live(Router& r);      // live.cpp
void add_metrics(Router& r);   // metrics.cpp

}  // namespace atelier::dashboard
