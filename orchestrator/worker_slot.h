// A page of memory shared between the supervisor and one worker process it
// spawned, through which the worker says which job it is executing right now
// (0: none). When the worker dies, the supervisor reads it to tell the job that
// was running (its attempt counts: crashed) from jobs the worker had claimed but
// not started or not yet reported (released: they do not count). Writes are
// single atomic stores, so the hot path costs nothing.
#pragma once
#include <atomic>
#include <cstdint>

namespace atelier {

class WorkerSlot {
 public:
  // Supervisor side: a fresh anonymous shared page; fd() is inherited by the child.
  static WorkerSlot create();
  // Worker side: maps the fd it was given; an invalid fd gives a no-op slot.
  static WorkerSlot attach(int fd);

  WorkerSlot(WorkerSlot&& o) noexcept;
  WorkerSlot& operator=(WorkerSlot&& o) noexcept;
  ~WorkerSlot();

  void set_current(int64_t job_id);
  int64_t current() const;
  int fd() const { return fd_; }
  void close_fd();  // supervisor: after the child has it

 private:
  WorkerSlot() = default;
  int fd_ = -1;
  std::atomic<int64_t>* cell_ = nullptr;
};

}  // namespace atelier
