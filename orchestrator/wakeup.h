// Wake-ups for idle workers without a poll sleep: whoever makes a job ready
// touches the workspace's wake file after committing; every idle worker waits
// on an inotify watch of that file and claims at once. A watch queues events
// from the moment it is made, so a notification between a worker's empty claim
// and its wait is never lost (drain() before claiming, wait() after).
#pragma once
#include <cstdint>
#include <filesystem>

namespace atelier {

class WakeSignal {
 public:
  explicit WakeSignal(std::filesystem::path file);  // touches; no watch
  void notify() const;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

// What an idle worker waits on: the wake file here, or the database's
// notifications (sql/pg_listener.h) when workers run on many hosts.
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void drain() = 0;  // forget queued notifications
  // True when notified before timeout_ms passed (also on EINTR: the caller
  // re-checks its own state either way). A readable `interrupt_fd` (a signal
  // handler's self-pipe) also ends the wait, so a signal that lands just before
  // the wait is not slept through.
  virtual bool wait(int64_t timeout_ms, int interrupt_fd = -1) = 0;
};

class WakeWaiter final : public Waiter {
 public:
  explicit WakeWaiter(const std::filesystem::path& file);
  ~WakeWaiter() override;
  WakeWaiter(const WakeWaiter&) = delete;
  WakeWaiter& operator=(const WakeWaiter&) = delete;

  void drain() override;
  bool wait(int64_t timeout_ms, int interrupt_fd = -1) override;

 private:
  int fd_ = -1;
};

}  // namespace atelier
