// Run-end webhooks (a spec's `notify:`), delivered by `atelier serve`. When a
// run ends, each of its notifications whose `on` lists the end state gets a
// POST of the run's summary (JSON); one that does not is marked skipped.
//
// Invariants:
// - At-least-once: an attempt is recorded only after the POST returns, so a
//   process that dies in between posts again later; receivers dedupe on the
//   payload's "delivery" id.
// - Two serve processes never post the same attempt: each takes it first by
//   moving its next_at forward (Store::take_notification), a lease that also
//   makes a died-in-flight attempt due again once it passes.
// - A failed attempt (no connection, a timeout, a non-2xx status) is retried
//   with exponential backoff up to max_attempts, then marked failed. Every
//   outcome is written to the audit log.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "clock.h"
#include "store.h"

namespace atelier {

struct PostResult {
  int status = 0;     // 0: no HTTP answer
  std::string error;  // why, when not 2xx
  bool ok() const { return status >= 200 && status < 300; }
};
// POSTs a JSON body to a URL.
using PostJson = std::function<PostResult(const std::string& url, const std::string& body)>;

struct NotifierOptions {
  int max_attempts = 8;
  int64_t backoff_ms = 2000;  // doubled per attempt
  int64_t max_backoff_ms = 600'000;
  int64_t lease_ms = 60'000;  // how long an attempt in flight holds its row
};

class Notifier {
 public:
  Notifier(Store& store, const Clock& clock, PostJson post, NotifierOptions o = {});
  // Delivers what is due; returns how many were delivered.
  int tick();

 private:
  Store& store_;
  const Clock& clock_;
  PostJson post_;
  NotifierOptions o_;
};

// A Notifier on a thread and a store connection of its own, ticking every
// interval_ms: a slow or silent receiver (up to the post's timeout) holds up
// only the deliveries, never the caller's loop (`atelier serve`'s supervisor
// and scheduler). stop() (and the destructor) ends it after the post in flight.
class NotifierThread {
 public:
  NotifierThread(std::unique_ptr<Store> store, const Clock& clock, PostJson post,
                 int64_t interval_ms = 1000, NotifierOptions o = {});
  ~NotifierThread();
  NotifierThread(const NotifierThread&) = delete;
  NotifierThread& operator=(const NotifierThread&) = delete;
  void stop();

 private:
  void loop();
  std::unique_ptr<Store> store_;
  Notifier notifier_;
  int64_t interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The JSON posted for a run: its status (run_status.h) with the delivery id.
nlohmann::json notification_payload(Store& store, const RunRow& run, int64_t notification_id);

}  // namespace atelier
