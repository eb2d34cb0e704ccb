#include "worker_slot.h"

#include <sys/mman.h>
#include <unistd.h>

#include <system_error>

namespace atelier {

static_assert(std::atomic<int64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");

WorkerSlot WorkerSlot::create() {
  WorkerSlot s;
  s.fd_ = ::memfd_create("atelier-worker-slot", 0);  // no CLOEXEC: the child inherits it
  if (s.fd_ < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(s.fd_, 4096) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd_, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
  s.cell_ = new (p) std::atomic<int64_t>(0);
  return s;
}

WorkerSlot WorkerSlot::attach(int fd) {
  WorkerSlot s;
  if (fd < 0) return s;
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return s;
  s.cell_ = static_cast<std::atomic<int64_t>*>(p);
  return s;
}

WorkerSlot::WorkerSlot(WorkerSlot&& o) noexcept : fd_(o.fd_), cell_(o.cell_) {
  o.fd_ = -1;
  o.cell_ = nullptr;
}

WorkerSlot& WorkerSlot::operator=(WorkerSlot&& o) noexcept {
  if (this != &o) {
    this->~WorkerSlot();
    fd_ = o.fd_;
    cell_ = o.cell_;
    o.fd_ = -1;
    o.cell_ = nullptr;
  }
  return *this;
}

WorkerSlot::~WorkerSlot() {
  if (cell_) ::munmap(cell_, 4096);
  if (fd_ >= 0) ::close(fd_);
}

void WorkerSlot::set_current(int64_t job_id) {
  if (cell_) cell_->store(job_id, std::memory_order_release);
}

int64_t WorkerSlot::current() const {
  return cell_ ? cell_->load(std::memory_order_acquire) : 0;
}

void WorkerSlot::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace atelier
