// See held_connections.h.
#include "held_connections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace atelier::test {

namespace {

sockaddr_in ipv4(const std::string& address, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  return a;
}

bool send_all(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT) ==
         static_cast<ssize_t>(text.size());
}

int status_of(const std::string& got) {
  if (got.size() < 12 || got.rfind("HTTP/1.", 0) != 0) return 0;
  return std::atoi(got.c_str() + 9);
}

}  // namespace

int connect_from(const std::string& from, int port, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_in local = ipv4(from, 0), remote = ipv4("127.0.0.1", port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
      (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0 &&
       errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

HeldConnections::HeldConnections(const std::string& from, int port, int count, int stream_every,
                                 const std::string& stream_path)
    : from_(from), stream_path_(stream_path), port_(port) {
  fds_.resize(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    fds_[static_cast<size_t>(i)].stream = stream_every > 0 && i % stream_every == 0;
    open(fds_[static_cast<size_t>(i)]);
  }
}

HeldConnections::~HeldConnections() {
  for (Held& h : fds_)
    if (h.fd >= 0) ::close(h.fd);
}

void HeldConnections::open(Held& h) {
  h.fd = connect_from(from_, port_);
  h.answered = h.closed = false;
  h.got.clear();
  if (h.fd < 0) {
    ++failed_;
    h.closed = true;
    return;
  }
  const std::string head =
      h.stream ? "GET " + stream_path_ +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
               : "GET /api/v1/overview HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  send_all(h.fd, head);
}

void HeldConnections::dribble() {
  for (Held& h : fds_)
    if (!h.stream && !h.closed) send_all(h.fd, "a");
}

void HeldConnections::poll(bool reopen) {
  char buf[16384];
  for (Held& h : fds_) {
    if (h.closed) {
      if (reopen) open(h);
      continue;
    }
    while (true) {
      const ssize_t n = ::recv(h.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        if (h.got.size() < 512) h.got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
      ::close(h.fd);  // closed by the server (0) or reset
      h.fd = -1;
      h.closed = true;
      ++closed_;
      break;
    }
    if (!h.answered) {
      if (const int status = status_of(h.got)) {
        ++answers_[status];
        h.answered = true;
      }
    }
    if (h.closed && reopen) open(h);
  }
}

std::map<int, int> HeldConnections::answers() const {
  return answers_;
}

TimedGet timed_get(int port, const std::string& path, int timeout_ms) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto left_ms = [&] {
    return timeout_ms -
           static_cast<int>(
               std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count());
  };
  TimedGet r;
  const int fd = connect_from("127.0.0.1", port, timeout_ms);
  if (fd < 0) {
    r.error = "no connection";
  } else {
    const std::string head =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    std::string got;
    if (!send_all(fd, head)) r.error = "send failed";
    char buf[16384];
    while (r.error.empty()) {
      pollfd p{fd, POLLIN, 0};
      const int left = left_ms();
      if (left <= 0 || ::poll(&p, 1, left) != 1) {
        r.error = "no answer within " + std::to_string(timeout_ms) + " ms";
        break;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      break;  // the end of the answer (Connection: close)
    }
    ::close(fd);
    if (r.error.empty()) r.status = status_of(got);
    if (r.error.empty() && r.status == 0)
      r.error =
          got.empty() ? "closed without an answer" : "not an HTTP answer: " + got.substr(0, 80);
  }
  r.ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
  return r;
}

}  // namespace atelier::test
