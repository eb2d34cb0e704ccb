// The dashboard's HTTP server (Poco::Net::HTTPServer): turns each request into
// a dashboard Request, applies the limits that must hold before any handler
// runs (request rate per client, body size), and writes the Reply with the
// security headers every response carries. Bound to 127.0.0.1 unless told
// otherwise.
#pragma once
#include <memory>
#include <string>

#include "dashboard/dashboard.h"
#include "dashboard/rate_limiter.h"

namespace Poco::Net {
class HTTPServer;
}

namespace atelier::dashboard {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() says which)
  size_t max_body_bytes = 1 << 20;
  double rate_per_second = 100, rate_burst = 400;
  int max_threads = 64;  // each live stream holds one
};

class DashboardServer {
 public:
  DashboardServer(Dashboard& dashboard, std::shared_ptr<Clock> clock, ServerOptions options);
  ~DashboardServer();
  void start();
  // Stops accepting, ends live streams, and waits for requests in flight.
  void stop();
  int port() const { return port_; }
  std::string url() const;

 private:
  Dashboard& dashboard_;
  std::shared_ptr<Clock> clock_;
  ServerOptions options_;
  RateLimiter limiter_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

// Whether an address text names a loopback interface (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& address);

}  // namespace atelier::dashboard
