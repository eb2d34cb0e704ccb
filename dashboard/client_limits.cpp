// See client_limits.h.
#include "dashboard/client_limits.h"

#include <arpa/inet.h>

#include <cstring>

namespace atelier::dashboard {

std::string client_key(const std::string& address) {
  std::string text = address;
  if (const auto zone = text.find('%'); zone != std::string::npos) text.resize(zone);
  unsigned char v6[16];
  if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), v6) != 1)
    return text;
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN];
  if (std::memcmp(v6, kMapped, sizeof kMapped) == 0) {
    inet_ntop(AF_INET, v6 + 12, out, sizeof out);
    return out;
  }
  std::memset(v6 + 8, 0, 8);
  inet_ntop(AF_INET6, v6, out, sizeof out);
  return std::string(out) + "/64";
}

ClientCounter::Refusal ClientCounter::take(const std::string& key) {
  std::lock_guard lock(mu_);
  if (all_ >= total_) return Refusal::total;
  auto it = held_.find(key);
  if ((it == held_.end() ? 0 : it->second) >= per_client_) return Refusal::client;
  ++held_[key];
  ++all_;
  return Refusal::none;
}

void ClientCounter::give_back(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = held_.find(key);
  if (it == held_.end()) return;
  --all_;
  if (--it->second <= 0) held_.erase(it);
}

int ClientCounter::held(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(key);
  return it == held_.end() ? 0 : it->second;
}

int ClientCounter::held_total() const {
  std::lock_guard lock(mu_);
  return all_;
}

}  // namespace atelier::dashboard
