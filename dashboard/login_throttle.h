// Failed logins per client (a login form with a wrong token, or a request with
// a bearer token that is not valid). A client that fails `max_failures` times
// within a window is refused (429 with Retry-After) until the window ends,
// whether its next token is right or wrong: guessing costs a window per few
// guesses, and a refused try learns nothing.
//
// The audit log gets at most two rows per client and window instead of one per
// failure: the window's first failure at once (an attack shows in the log as
// it starts), and, once the window has ended, one row counting the further
// failures and the refused tries. Both are `login.failed` rows whose target is
// the client's address and whose details hold `failures` (and `refused`); the
// sum of `failures` is the number of failed logins.
//
// Time comes from the injected clock. Thread-safe. A window is forgotten once
// its closing row is written, so the table holds only the last window's clients.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "orchestrator/clock.h"

namespace atelier {
class Store;
}

namespace atelier::dashboard {

struct LoginLimits {
  int max_failures = 10;       // failed logins per client and window before refusals
  int64_t window_ms = 60'000;  // a window starts at a client's first failure
};

class LoginThrottle {
 public:
  LoginThrottle(const Clock& clock, LoginLimits limits) : clock_(clock), limits_(limits) {}
  // Milliseconds until `client` may try again (0: now). A refused try is counted.
  int64_t refused_for(const std::string& client);
  // Counts a failed login; the first of a window is written to the audit log now.
  void failed(Store& store, const std::string& client);
  // Writes the closing rows of the windows that have ended (of every window
  // when `all`, as when the server stops). Cheap when none is due.
  void flush(Store& store, bool all = false);

 private:
  struct Window {
    int64_t start = 0;
    int failures = 0, refused = 0;
  };
  struct Row {
    std::string client;
    Window w;
  };
  void write_closing(Store& store, const Row& r) const;
  const Clock& clock_;
  const LoginLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
  int64_t next_due_ms_ = INT64_MAX;  // the earliest end of a window in the table
};

}  // namespace atelier::dashboard
