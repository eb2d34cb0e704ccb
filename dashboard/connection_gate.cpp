// See connection_gate.h.
#include "dashboard/connection_gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Net/StreamSocketImpl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace atelier::dashboard {

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

namespace {

// A head still arriving in pieces is looked at no more often than this, so a
// client sending it a byte at a time costs a peek per interval, not per byte.
constexpr int64_t kLookIntervalMs = 20;
// Deadlines are checked at least this often.
constexpr int64_t kTickMs = 50;

std::string answer_text(int status, const char* reason, const std::string& message,
                        bool retry_after) {
  const std::string body = nlohmann::json{{"error", message}, {"status", status}}.dump();
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" +
         (retry_after ? "Retry-After: 1\r\n" : "") + "\r\n" + body;
}

// Answers without waiting: the socket's send buffer is empty (nothing else was
// ever written to it), so a short answer fits. What the client already sent is
// read first, so closing does not reset the connection under the answer.
void answer_and_close(int fd, const std::string& text) {
  char sink[4096];
  for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
  }
  [[maybe_unused]] const ssize_t n =
      ::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
}

// The request line and headers are all there: an empty line ends them
// (blank lines before a request line are skipped, as HTTP allows).
bool head_complete(std::string_view bytes) {
  const size_t start = bytes.find_first_not_of("\r\n");
  if (start == std::string_view::npos) return false;
  bytes.remove_prefix(start);
  return bytes.find("\n\r\n") != std::string_view::npos ||
         bytes.find("\n\n") != std::string_view::npos;
}

std::string peer_text(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof text);
  else if (peer.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, text, sizeof text);
  return text;
}

int fd_of(const Poco::Net::Socket& s) {
  return static_cast<int>(s.impl()->sockfd());
}

}  // namespace

ConnectionGate::ConnectionGate(Poco::Net::ServerSocket listening, GateOptions options,
                               Dispatch dispatch)
    : listening_(std::move(listening)),
      options_(options),
      dispatch_(std::move(dispatch)),
      connections_(options.max_connections_per_client, options.max_connections) {}

ConnectionGate::~ConnectionGate() {
  stop();
  if (epoll_ >= 0) ::close(epoll_);
  if (wake_ >= 0) ::close(wake_);
}

void ConnectionGate::start() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || wake_ < 0) throw std::runtime_error("dashboard: cannot create an epoll set");
  listening_.setBlocking(false);
  for (const int fd : {fd_of(listening_), wake_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }
  thread_ = std::thread([this] { run(); });
}

void ConnectionGate::stop() {
  if (stopping_.exchange(true)) return;
  if (wake_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  std::unordered_map<int, Waiting> closing;
  {
    std::lock_guard lock(mu_);
    closing.swap(waiting_);
    for (GatedConnection* c : held_) {
      c->cut = true;
      try {
        c->socket.shutdown();
      } catch (const std::exception&) {
        // already closed by its client
      }
    }
  }
  closing.clear();  // closes them
  try {
    listening_.close();
  } catch (const std::exception&) {
  }
}

void ConnectionGate::park(std::shared_ptr<GatedConnection> c) {
  const int64_t now = steady_ms();
  std::lock_guard lock(mu_);
  if (stopping_) return;
  const int fd = fd_of(c->socket);
  watch(fd, Waiting{std::move(c), now + options_.header_timeout_ms, now, true, false, 0});
}

void ConnectionGate::hold(GatedConnection* c) {
  std::lock_guard lock(mu_);
  held_.insert(c);
  if (stopping_) {
    c->cut = true;
    try {
      c->socket.shutdown();
    } catch (const std::exception&) {
    }
  }
}

void ConnectionGate::let_go(GatedConnection* c) {
  std::lock_guard lock(mu_);
  held_.erase(c);
}

void ConnectionGate::set_deadline(GatedConnection& c, int64_t ms) {
  c.deadline_ms = ms > 0 ? steady_ms() + ms : 0;
}

void ConnectionGate::watch(int fd, Waiting w) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.fd = fd;
  // Added while readable, an edge-triggered fd still reports once.
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    spdlog::warn("dashboard: cannot watch a connection: {}", std::strerror(errno));
    return;  // dropped: it closes
  }
  waiting_[fd] = std::move(w);
}

void ConnectionGate::forget(int fd) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
}

void ConnectionGate::run() {
  std::vector<epoll_event> events(128);
  std::vector<std::shared_ptr<GatedConnection>> ready, closing;
  const int listen_fd = fd_of(listening_);
  int wait_ms = kTickMs;
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), wait_ms);
    bool incoming = false;
    {
      std::lock_guard lock(mu_);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listen_fd) {
          incoming = true;
        } else if (fd != wake_) {
          auto it = waiting_.find(fd);
          if (it == waiting_.end()) continue;
          it->second.unread = true;
          if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) it->second.peer_done = true;
        }
      }
    }
    if (stopping_) break;
    if (incoming) accept_ready();

    const int64_t now = steady_ms();
    int64_t soonest = now + kTickMs;  // when the next look at a waiting head is due
    {
      std::lock_guard lock(mu_);
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        Waiting& w = it->second;
        Look r = Look::wait;
        if (w.peer_done || (w.unread && now >= w.next_look)) r = look(w, now);
        if (r == Look::wait && w.unread) soonest = std::min(soonest, w.next_look);
        if (r == Look::wait && now >= w.deadline) {
          // Bytes of a head that did not complete in time get an answer;
          // an idle keep-alive connection is simply closed.
          if (w.seen > 0)
            answer_and_close(it->first,
                             answer_text(408, "Request Timeout",
                                         "the request head did not arrive within " +
                                             std::to_string(options_.header_timeout_ms) + " ms",
                                         false));
          r = Look::close;
        }
        if (r == Look::wait) {
          ++it;
          continue;
        }
        forget(it->first);
        (r == Look::ready ? ready : closing).push_back(std::move(w.conn));
        it = waiting_.erase(it);
      }
      for (GatedConnection* c : held_) {
        const int64_t d = c->deadline_ms.load();
        if (d == 0 || now < d) continue;
        c->deadline_ms = 0;
        c->cut = true;
        try {
          c->socket.shutdown();  // its worker's read fails now
        } catch (const std::exception&) {
        }
      }
    }
    for (auto& c : ready) dispatch_(std::move(c));
    ready.clear();
    closing.clear();
    wait_ms = static_cast<int>(std::clamp<int64_t>(soonest - steady_ms(), 0, kTickMs));
  }
}

ConnectionGate::Look ConnectionGate::look(Waiting& w, int64_t now) {
  static thread_local std::vector<char> buf;
  buf.resize(options_.max_header_bytes);
  const int fd = fd_of(w.conn->socket);
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  w.unread = false;
  if (n == 0) return Look::close;  // the client closed it
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
      return w.peer_done ? Look::close : Look::wait;
    return Look::close;
  }
  w.seen = static_cast<size_t>(n);
  if (head_complete(std::string_view(buf.data(), w.seen))) return Look::ready;
  w.next_look = now + kLookIntervalMs;  // part of a head: the rest is not looked for at once
  if (w.seen >= options_.max_header_bytes) {
    answer_and_close(fd, answer_text(431, "Request Header Fields Too Large",
                                     "the request head is larger than " +
                                         std::to_string(options_.max_header_bytes) + " bytes",
                                     false));
    return Look::close;
  }
  return w.peer_done ? Look::close : Look::wait;
}

void ConnectionGate::accept_ready() {
  const int listen_fd = fd_of(listening_);
  for (int i = 0; i < 256 && !stopping_; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE)
        spdlog::warn("dashboard: out of file descriptors accepting a connection");
      return;  // EAGAIN: none left
    }
    // Owned from here: the socket closes with its last copy.
    Poco::Net::StreamSocket s(new Poco::Net::StreamSocketImpl(fd));
    const std::string address = peer_text(peer);
    const std::string key = client_key(address);
    switch (connections_.take(key)) {
      case ClientCounter::Refusal::total:
        answer_and_close(fd, answer_text(503, "Service Unavailable",
                                         "the server holds its limit of " +
                                             std::to_string(options_.max_connections) +
                                             " connections; try again shortly",
                                         true));
        note_refusal(address);
        continue;
      case ClientCounter::Refusal::client:
        answer_and_close(fd, answer_text(429, "Too Many Requests",
                                         "too many connections from this address (limit " +
                                             std::to_string(options_.max_connections_per_client) +
                                             "); close some and try again",
                                         true));
        note_refusal(address);
        continue;
      case ClientCounter::Refusal::none:
        break;
    }
    try {
      s.setNoDelay(true);
    } catch (const std::exception&) {
    }
    const int64_t now = steady_ms();
    auto c =
        std::make_shared<GatedConnection>(std::move(s), address, ClientSlot(connections_, key));
    std::lock_guard lock(mu_);
    watch(fd, Waiting{std::move(c), now + options_.header_timeout_ms, now, true, false, 0});
  }
}

// One warning a minute at most, however hard the limits are pressed.
void ConnectionGate::note_refusal(const std::string& client) {
  ++refused_since_log_;
  last_refused_ = client;
  const int64_t now = steady_ms();
  if (now - last_refusal_log_ms_ < 60'000) return;
  spdlog::warn(
      "dashboard: refused {} connection(s) at the connection limits ({} per address, {} in all) "
      "since the last warning; the last from {}",
      refused_since_log_, options_.max_connections_per_client, options_.max_connections,
      last_refused_);
  refused_since_log_ = 0;
  last_refusal_log_ms_ = now;
}

}  // namespace atelier::dashboard
