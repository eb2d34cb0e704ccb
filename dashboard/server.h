// The dashboard's HTTP server: Poco's HTTP message parsing on connections the
// server manages itself (connection_gate.h: a connection waiting for its
// request holds no thread), the limits that must hold before any handler runs
// (connections per client and in all, request rate per client, body size,
// header and body read deadlines, live streams per client and in all), and
// the security headers every response carries. Bound to 127.0.0.1 unless told
// otherwise.
#pragma once
#include <memory>
#include <string>

#include "dashboard/dashboard.h"
#include "dashboard/rate_limiter.h"

namespace atelier::dashboard {

// A client is an address (an IPv6 one by its /64); loopback addresses count
// like any other. Defaults suit one machine's users and scripts; behind a
// reverse proxy every client has the proxy's address, so raise the per-client
// limits there.
struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() says which)
  size_t max_body_bytes = 1 << 20;
  double rate_per_second = 100, rate_burst = 400;
  // Worker threads: each serves one request or one live stream at a time.
  int max_threads = 64;
  // Open connections (waiting, being served or streaming). Past them a new
  // connection is answered at once and closed: 503 in all, 429 per client.
  int max_connections = 512;
  int max_connections_per_client = 16;
  // Live streams (Server-Sent Events), each holding a thread while open; kept
  // below max_threads so requests always find one. Past them: 503 / 429.
  int max_streams = 32;
  int max_streams_per_client = 8;
  // A request head must arrive within this after the connection opens (or its
  // previous response ends: the keep-alive idle time); else 408 and closed.
  int64_t header_timeout_ms = 10'000;
  // A request body must arrive within this after its head; else the
  // connection is closed.
  int64_t body_timeout_ms = 20'000;
};

// Why `o` cannot be served (a message naming the option), or "" when it can.
std::string server_options_problem(const ServerOptions& o);

class DashboardServer {
 public:
  DashboardServer(Dashboard& dashboard, std::shared_ptr<Clock> clock, ServerOptions options);
  ~DashboardServer();
  // Listens; throws InputError for options server_options_problem refuses.
  void start();
  // Stops accepting, ends live streams, and waits for requests in flight.
  void stop();
  int port() const { return port_; }
  std::string url() const;

 private:
  struct Running;
  Dashboard& dashboard_;
  std::shared_ptr<Clock> clock_;
  ServerOptions options_;
  RateLimiter limiter_;
  std::unique_ptr<Running> running_;
  int port_ = 0;
};

// Whether an address text names a loopback interface (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& address);

}  // namespace atelier::dashboard
