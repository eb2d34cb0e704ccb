#include "heartbeat.h"

#include <spdlog/spdlog.h>

namespace atelier {

Heartbeater::Heartbeater(const Workspace& ws, std::string worker_id, int64_t lease_ms,
                         int64_t interval_ms)
    : store_(ws.open_store()),
      worker_id_(std::move(worker_id)),
      lease_ms_(lease_ms),
      interval_ms_(std::max<int64_t>(1, interval_ms)),
      thread_([this] { loop(); }) {}

Heartbeater::~Heartbeater() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<JobSignals> Heartbeater::track(const Lease& lease) {
  auto s = std::make_shared<JobSignals>();
  std::lock_guard lk(mu_);
  held_[lease.job_id] = {lease.attempt, s};
  return s;
}

void Heartbeater::untrack(int64_t job_id) {
  std::lock_guard lk(mu_);
  held_.erase(job_id);
}

void Heartbeater::set_worker_state(const std::string& state, std::optional<int64_t> job) {
  std::lock_guard lk(mu_);
  state_ = state;
  current_ = job;
}

void Heartbeater::beat_now() {
  {
    std::lock_guard lk(mu_);
    poke_ = true;
  }
  cv_.notify_all();
}

void Heartbeater::loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::milliseconds(interval_ms_), [&] { return stop_ || poke_; });
    if (stop_) break;
    poke_ = false;
    lk.unlock();
    try {
      beat();
    } catch (const std::exception& e) {
      spdlog::error("heartbeat failed: {}", e.what());  // the next beat tries again
    }
    lk.lock();
  }
}

void Heartbeater::beat() {
  std::map<int64_t, Held> held;
  std::string state;
  std::optional<int64_t> current;
  {
    std::lock_guard lk(mu_);
    held = held_;
    state = state_;
    current = current_;
  }
  for (auto& [job_id, h] : held) {
    auto progress = h.signals->take_progress();
    HeartbeatResult r =
        progress
            ? store_->heartbeat(job_id, h.attempt, lease_ms_, progress->first, progress->second)
            : store_->heartbeat(job_id, h.attempt, lease_ms_, std::nullopt, "");
    if (r.fence == FenceResult::lost) h.signals->lease_lost = true;
    if (r.cancel_requested) h.signals->cancel = true;
  }
  store_->worker_heartbeat(worker_id_, state, current);
}

}  // namespace atelier
