// The worker's heartbeat thread, with its own store connection: every interval
// it extends the lease of each job the worker holds (running or claimed and
// waiting its turn), writes reported progress, and raises the job's signals
// when cancel was requested or the lease was lost. A job that heartbeats keeps
// its lease however long it runs.
#pragma once
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "job_context.h"
#include "orchestrator/workspace.h"

namespace atelier {

class Heartbeater {
 public:
  Heartbeater(const Workspace& ws, std::string worker_id, int64_t lease_ms, int64_t interval_ms);
  ~Heartbeater();

  std::shared_ptr<JobSignals> track(const Lease& lease);
  void untrack(int64_t job_id);
  void set_worker_state(const std::string& state, std::optional<int64_t> job);
  void beat_now();  // wake the thread (tests, cancel latency)

 private:
  void loop();
  void beat();

  struct Held {
    int attempt;
    std::shared_ptr<JobSignals> signals;
  };
  std::unique_ptr<Store> store_;
  std::string worker_id_;
  int64_t lease_ms_, interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, poke_ = false;
  std::map<int64_t, Held> held_;
  std::string state_ = "idle";
  std::optional<int64_t> current_;
  std::thread thread_;
};

}  // namespace atelier
