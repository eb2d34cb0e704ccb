// The dashboard's worker threads: at most `max_threads`, started as work
// arrives and kept, fed from one FIFO queue. A thread serves one request (or
// one live stream) at a time; connections waiting for a request hold none
// (connection_gate.h). stop() drops what is still queued (destroying a job
// closes its connection) and waits for the jobs running.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace atelier::dashboard {

class WorkerPool {
 public:
  explicit WorkerPool(int max_threads) : max_(max_threads) {}
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void post(std::function<void()> job);
  void stop();

 private:
  void run();
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  int idle_ = 0;
  bool stopping_ = false;
};

}  // namespace atelier::dashboard
