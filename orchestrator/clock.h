// Time source for everything time-dependent (leases, backoff, grace periods,
// schedules). Production uses SystemClock; tests inject ManualClock so they can
// move time forward and assert on recorded rows, never on elapsed time.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace atelier {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;  // Unix epoch milliseconds
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void advance(int64_t ms) { now_ += ms; }
  void set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

std::shared_ptr<Clock> system_clock();

}  // namespace atelier
