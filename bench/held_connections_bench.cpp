// Latency of a well-behaved dashboard client on 127.0.0.1 while another client
// on 127.0.0.2 holds connections open (tests/support/held_connections.h: heads
// stopped mid-header and trickling, live streams never read). Three phases
// against the same running `atelier serve`: no attack; 500 connections opened
// once and held; and the same with the attacker reopening every connection
// the server closes, every 100 ms. Each phase sends REQUESTS GETs one after
// another, each on a fresh connection, and prints p50, p99 and max latency
// and how many got no answer, within the timeout or before the server closed
// the connection (a phase gives up after 10 unanswered in a row).
//
//   atelier_held_connections_bench PORT [REQUESTS=2000] [HELD=500] [TIMEOUT_MS=5000]
//
// bench/run_held_connections_bench.sh starts the server and runs this.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/held_connections.h"

using namespace atelier::test;

namespace {

// A phase stops after this many requests in a row went unanswered: the server
// is starved, and every further request would wait out its timeout too.
constexpr int kGiveUpAfter = 10;

struct Figures {
  std::vector<double> ms;
  int unanswered = 0;  // no answer: none within the timeout, or closed without one
  std::string why;     // the last unanswered request's error
  int refused = 0;     // answered, but not 200
  bool gave_up = false;
};

Figures measure(int port, int requests, int timeout_ms) {
  static const std::vector<std::string> paths = {"/api/v1/overview", "/", "/api/v1/runs",
                                                 "/static/style.css", "/metrics"};
  Figures f;
  for (int i = 0, in_a_row = 0; i < requests; ++i) {
    const TimedGet r = timed_get(port, paths[static_cast<size_t>(i) % paths.size()], timeout_ms);
    if (r.status == 200) {
      f.ms.push_back(r.ms);
      in_a_row = 0;
    } else if (r.status != 0) {
      ++f.refused;
      in_a_row = 0;
    } else {
      ++f.unanswered;
      f.why = r.error;
      if (++in_a_row == kGiveUpAfter) {
        f.gave_up = true;
        break;
      }
    }
  }
  std::sort(f.ms.begin(), f.ms.end());
  return f;
}

double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)];
}

void report(const char* phase, const Figures& f, const std::string& attacker) {
  std::printf("%-34s %9zu %9.2f %9.2f %9.2f %8d %11d  %s%s\n", phase, f.ms.size(), pct(f.ms, 0.50),
              pct(f.ms, 0.99), f.ms.empty() ? 0.0 : f.ms.back(), f.refused, f.unanswered,
              f.gave_up ? ("(gave up: " + f.why + ") ").c_str() : "", attacker.c_str());
  std::fflush(stdout);
}

// The attacker's side: what the server answered it, and what it closed.
std::string attacker_text(const HeldConnections& a) {
  std::string s = "attacker: ";
  for (const auto& [status, n] : a.answers())
    s += std::to_string(status) + "x" + std::to_string(n) + " ";
  return s + "closed " + std::to_string(a.closed_by_server());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [REQUESTS] [HELD] [TIMEOUT_MS]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int requests = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int held = argc > 3 ? std::atoi(argv[3]) : 500;
  const int timeout_ms = argc > 4 ? std::atoi(argv[4]) : 5000;
  raise_fd_limit();
  std::printf("%-34s %9s %9s %9s %9s %8s %11s\n", "phase (127.0.0.1 GETs)", "200", "p50 ms",
              "p99 ms", "max ms", "not 200", "unanswered");

  report("no attack", measure(port, requests, timeout_ms), "");

  for (const bool reopen : {false, true}) {
    auto attack = std::make_unique<HeldConnections>("127.0.0.2", port, held, 5);
    std::atomic<bool> done{false};
    std::thread keep([&] {
      for (int tick = 0; !done; ++tick) {
        attack->poll(reopen);
        if (tick % 10 == 0) attack->dribble();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the attack settles in
    const Figures f = measure(port, requests, timeout_ms);
    done = true;
    keep.join();
    attack->poll();
    const std::string phase =
        std::to_string(held) + (reopen ? " held, reopened when closed" : " held (opened once)");
    report(phase.c_str(), f, attacker_text(*attack));
    attack.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return 0;
}
