// See worker_pool.h.
#include "dashboard/worker_pool.h"

#include <spdlog/spdlog.h>

namespace atelier::dashboard {

void WorkerPool::post(std::function<void()> job) {
  std::lock_guard lock(mu_);
  if (stopping_) return;  // dropped: the job's connection closes
  queue_.push_back(std::move(job));
  // More queued than idle threads to take them: start one, up to the limit.
  if (static_cast<int>(queue_.size()) > idle_ && static_cast<int>(threads_.size()) < max_)
    threads_.emplace_back([this] { run(); });
  cv_.notify_one();
}

void WorkerPool::stop() {
  std::deque<std::function<void()>> dropped;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
    threads.swap(threads_);
  }
  cv_.notify_all();
  dropped.clear();
  for (std::thread& t : threads) t.join();
}

void WorkerPool::run() {
  std::unique_lock lock(mu_);
  while (true) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::warn("dashboard: a request ended with an error: {}", e.what());
    }
    job = nullptr;  // its connection, if it is done with it, closes here
    lock.lock();
  }
}

}  // namespace atelier::dashboard
