// See login_throttle.h.
#include "dashboard/login_throttle.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "dashboard/client_limits.h"
#include "orchestrator/store.h"

namespace atelier::dashboard {

int64_t LoginThrottle::refused_for(const std::string& client) {
  const int64_t now = clock_.now_ms();
  std::lock_guard lock(mu_);
  auto it = windows_.find(client_key(client));
  if (it == windows_.end() || now >= it->second.start + limits_.window_ms) return 0;
  if (it->second.failures < limits_.max_failures) return 0;
  ++it->second.refused;
  return it->second.start + limits_.window_ms - now;
}

void LoginThrottle::failed(Store& store, const std::string& client) {
  const int64_t now = clock_.now_ms();
  const std::string key = client_key(client);
  std::vector<Row> closing;
  bool first = false;
  {
    std::lock_guard lock(mu_);
    auto it = windows_.find(key);
    if (it != windows_.end() && now >= it->second.start + limits_.window_ms) {
      closing.push_back({key, it->second});
      windows_.erase(it);
      it = windows_.end();
    }
    if (it == windows_.end()) {
      it = windows_.emplace(key, Window{now, 0, 0}).first;
      next_due_ms_ = std::min(next_due_ms_, now + limits_.window_ms);
      first = true;
    }
    ++it->second.failures;
  }
  for (const Row& r : closing) write_closing(store, r);
  if (first)
    store.audit("anonymous", "login.failed", key,
                {{"failures", 1}, {"window_ms", limits_.window_ms}});
}

void LoginThrottle::flush(Store& store, bool all) {
  const int64_t now = clock_.now_ms();
  std::vector<Row> closing;
  {
    std::lock_guard lock(mu_);
    if (!all && now < next_due_ms_) return;
    next_due_ms_ = INT64_MAX;
    for (auto it = windows_.begin(); it != windows_.end();) {
      const int64_t end = it->second.start + limits_.window_ms;
      if (all || now >= end) {
        closing.push_back({it->first, it->second});
        it = windows_.erase(it);
      } else {
        next_due_ms_ = std::min(next_due_ms_, end);
        ++it;
      }
    }
  }
  for (const Row& r : closing) {
    try {
      write_closing(store, r);
    } catch (const std::exception& e) {
      spdlog::warn("dashboard: writing the failed logins of {}: {}", r.client, e.what());
    }
  }
}

void LoginThrottle::write_closing(Store& store, const Row& r) const {
  if (r.w.failures <= 1 && r.w.refused == 0) return;  // the first row said it all
  store.audit("anonymous", "login.failed", r.client,
              {{"failures", r.w.failures - 1},
               {"refused", r.w.refused},
               {"window_start", r.w.start},
               {"window_end", r.w.start + limits_.window_ms}});
}

}  // namespace atelier::dashboard
