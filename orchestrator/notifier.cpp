// See notifier.h.
#include "orchestrator/notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "orchestrator/ids.h"
#include "orchestrator/run_status.h"

namespace atelier {

namespace {
constexpr const char* kActor = "notifier";
}

nlohmann::json notification_payload(Store& store, const RunRow& run, int64_t notification_id) {
  json body = run_status_json(store, run);
  body["event"] = "run.finished";
  body["delivery"] = "n" + std::to_string(notification_id);
  return body;
}

Notifier::Notifier(Store& store, const Clock& clock, PostJson post, NotifierOptions o)
    : store_(store), clock_(clock), post_(std::move(post)), o_(o) {}

int Notifier::tick() {
  int delivered = 0;
  const int64_t now = clock_.now_ms();
  for (const NotificationRow& n : store_.due_notifications(now, 50)) {
    const std::string target = run_ref(n.run_id) + " " + n.url;
    if (std::find(n.on.begin(), n.on.end(), n.run_state) == n.on.end()) {
      store_.settle_notification(n.id, "skipped", n.attempts, n.next_at,
                                 "the run ended " + n.run_state);
      continue;
    }
    if (!store_.take_notification(n.id, n.next_at, now + o_.lease_ms)) continue;
    auto run = store_.get_run(n.run_id);
    if (!run) continue;
    const PostResult r = post_(n.url, notification_payload(store_, *run, n.id).dump());
    const int attempts = n.attempts + 1;
    if (r.ok()) {
      store_.settle_notification(n.id, "delivered", attempts, now, "");
      store_.audit(kActor, "notify.delivered", target,
                   {{"status", r.status}, {"attempts", attempts}});
      ++delivered;
    } else if (attempts >= o_.max_attempts) {
      store_.settle_notification(n.id, "failed", attempts, now, r.error);
      store_.audit(kActor, "notify.failed", target, {{"error", r.error}, {"attempts", attempts}});
    } else {
      const int64_t wait = std::min(o_.max_backoff_ms, o_.backoff_ms << std::min(attempts - 1, 20));
      store_.settle_notification(n.id, "waiting", attempts, now + wait, r.error);
      store_.audit(kActor, "notify.retry", target,
                   {{"error", r.error}, {"attempts", attempts}, {"retry_in_ms", wait}});
    }
  }
  return delivered;
}

NotifierThread::NotifierThread(std::unique_ptr<Store> store, const Clock& clock, PostJson post,
                               int64_t interval_ms, NotifierOptions o)
    : store_(std::move(store)),
      notifier_(*store_, clock, std::move(post), o),
      interval_ms_(interval_ms),
      thread_([this] { loop(); }) {}

NotifierThread::~NotifierThread() {
  stop();
}

void NotifierThread::stop() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NotifierThread::loop() {
  std::unique_lock l(mu_);
  while (!stop_) {
    l.unlock();
    try {
      notifier_.tick();
    } catch (const std::exception& e) {
      spdlog::error("webhooks: {}", e.what());
    }
    l.lock();
    cv_.wait_for(l, std::chrono::milliseconds(interval_ms_), [this] { return stop_; });
  }
}

}  // namespace atelier
