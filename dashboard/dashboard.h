// The dashboard behind `atelier serve`: routes, who may do what, and the
// request flow (route -> access -> handler -> errors as status codes). Poco
// stays in server.cpp; everything here takes a Request and returns a Reply.
//
// Access (DESIGN.md s.8): reading is open to anyone only when the server is
// bound to loopback and open_read is on; otherwise it needs a viewer token or
// session. Every action needs an admin token, and an action made with a
// browser session cookie must also carry that session's CSRF token (a form
// field `csrf` or the X-CSRF-Token header). Every action is audited with who
// did it.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

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
  // longer than a page should, so their results are reused for this long
  // (0: computed on every request).
  int64_t summary_ttl_ms = 2000;
};

// A value computed at most once per ttl: one request recomputes it while the
// others use the last value (never waiting on each other once there is one).
class TtlCache {
 public:
  template <typename F>
  std::string get(const Clock& clock, int64_t ttl_ms, F compute) {
    const int64_t now = clock.now_ms();
    {
      std::lock_guard lock(mu_);
      if (has_ && (ttl_ms > 0 && now - at_ < ttl_ms)) return value_;
    }
    std::unique_lock busy(compute_mu_, std::try_to_lock);
    if (!busy.owns_lock()) {
      std::lock_guard lock(mu_);
      if (has_) return value_;  // someone is refreshing it: the last value will do
    }
    if (!busy.owns_lock()) busy.lock();
    std::string fresh = compute();
    std::lock_guard lock(mu_);
    value_ = fresh;
    at_ = now;
    has_ = true;
    return fresh;
  }

 private:
  std::mutex mu_, compute_mu_;
  std::string value_;
  int64_t at_ = 0;
  bool has_ = false;
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

// Job counts of finished runs: they cannot change while the run stays finished
// (a retry reopens it, which changes its finished_at), so lists of runs read
// them once. Bounded: cleared when it grows past max_entries.
class FinishedRunCounts {
 public:
  std::optional<nlohmann::json> find(int64_t run_id, int64_t finished_at) {
    std::lock_guard lock(mu_);
    auto it = map_.find(run_id);
    if (it == map_.end() || it->second.first != finished_at) return std::nullopt;
    return it->second.second;
  }
  void put(int64_t run_id, int64_t finished_at, nlohmann::json counts) {
    std::lock_guard lock(mu_);
    if (map_.size() >= kMaxEntries) map_.clear();
    map_[run_id] = {finished_at, std::move(counts)};
  }

 private:
  static constexpr size_t kMaxEntries = 100'000;
  std::mutex mu_;
  std::unordered_map<int64_t, std::pair<int64_t, nlohmann::json>> map_;
};

// What handlers share: the workspace, the clock, options, and how a run is
// submitted (the same path as `atelier submit`).
struct DashboardEnv {
  const Workspace& ws;
  std::shared_ptr<Clock> clock;
  DashboardOptions options;
  SubmitSchedule submit_schedule;  // for schedule run-now
  std::atomic<bool> stopping{false};
  TtlCache overview_cache, metrics_cache;
  FinishedRunCounts run_counts;
};

class Dashboard {
 public:
  Dashboard(const Workspace& ws, std::shared_ptr<Clock> clock, DashboardOptions options,
            SubmitSchedule submit_schedule);
  Reply handle(Request& req);
  void stop() { env_.stopping = true; }
  DashboardEnv& env() { return env_; }

 private:
  Principal identify(Request& req, Store& store);
  DashboardEnv env_;
  StorePool pool_;
  Router router_;
};

// Route registration, one file per concern.
void add_read_api(Router& r);  // api_reads.cpp
void add_actions(Router& r);   // actions.cpp
void add_pages(Router& r);     // pages.cpp
void add_live(Router& r);      // live.cpp
void add_metrics(Router& r);   // metrics.cpp

}  // namespace atelier::dashboard
