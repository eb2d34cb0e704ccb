#include "wakeup.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

namespace atelier {

WakeSignal::WakeSignal(std::filesystem::path file) : file_(std::move(file)) {
  int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
}

void WakeSignal::notify() const {
  // Updating the timestamps raises IN_ATTRIB for every watcher; the file never grows.
  ::utimensat(AT_FDCWD, file_.c_str(), nullptr, 0);
}

WakeWaiter::WakeWaiter(const std::filesystem::path& file) {
  WakeSignal create(file);
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  if (::inotify_add_watch(fd_, file.c_str(), IN_ATTRIB | IN_MODIFY) < 0) {
    int err = errno;
    ::close(fd_);
    throw std::system_error(err, std::generic_category(), "inotify_add_watch " + file.string());
  }
}

WakeWaiter::~WakeWaiter() {
  if (fd_ >= 0) ::close(fd_);
}

void WakeWaiter::drain() {
  alignas(inotify_event) char buf[4096];
  while (::read(fd_, buf, sizeof buf) > 0) {
  }
}

bool WakeWaiter::wait(int64_t timeout_ms, int interrupt_fd) {
  pollfd p[2] = {{fd_, POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
  int rc = ::poll(p, interrupt_fd >= 0 ? 2 : 1, static_cast<int>(timeout_ms < 0 ? 0 : timeout_ms));
  if (rc > 0) {
    if (p[0].revents) drain();
    return true;
  }
  return rc < 0;  // EINTR: let the caller look again
}

}  // namespace atelier
