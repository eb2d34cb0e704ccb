// What one client may hold open at once: a counter of held things (open
// connections, live streams) per client and in total, with a limit on each.
// A client is its address, an IPv6 address taken by its /64 (one host usually
// owns a whole /64), so a client cannot escape its limit by changing the low
// bits. Loopback addresses are clients like any other: 127.0.0.2 is not
// 127.0.0.1, and neither is exempt. Thread-safe.
#pragma once
#include <mutex>
#include <string>
#include <unordered_map>

namespace atelier::dashboard {

// The key limits are counted under: an IPv4 address as is (also when written as
// ::ffff:a.b.c.d), an IPv6 address as its /64 prefix ("2001:db8:1:2::/64").
std::string client_key(const std::string& address);

class ClientCounter {
 public:
  enum class Refusal { none, client, total };
  ClientCounter(int per_client, int total) : per_client_(per_client), total_(total) {}
  // Takes one for `key` unless the client or everyone together is at the limit.
  Refusal take(const std::string& key);
  void give_back(const std::string& key);
  int held(const std::string& key) const;
  int held_total() const;
  int per_client_limit() const { return per_client_; }
  int total_limit() const { return total_; }

 private:
  const int per_client_, total_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> held_;
  int all_ = 0;
};

// One taken unit, given back when destroyed (or moved from).
class ClientSlot {
 public:
  ClientSlot() = default;
  ClientSlot(ClientCounter& counter, std::string key) : counter_(&counter), key_(std::move(key)) {}
  ClientSlot(ClientSlot&& o) noexcept : counter_(o.counter_), key_(std::move(o.key_)) {
    o.counter_ = nullptr;
  }
  ClientSlot& operator=(ClientSlot&& o) noexcept {
    if (this != &o) {
      release();
      counter_ = o.counter_;
      key_ = std::move(o.key_);
      o.counter_ = nullptr;
    }
    return *this;
  }
  ClientSlot(const ClientSlot&) = delete;
  ClientSlot& operator=(const ClientSlot&) = delete;
  ~ClientSlot() { release(); }
  void release() {
    if (counter_) counter_->give_back(key_);
    counter_ = nullptr;
  }

 private:
  ClientCounter* counter_ = nullptr;
  std::string key_;
};

}  // namespace atelier::dashboard
