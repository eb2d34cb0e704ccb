// See router.h.
#include "dashboard/router.h"

#include "dashboard/http_util.h"

namespace atelier::dashboard {

void Router::add(const std::string& method, const std::string& pattern, Need need, Handler h) {
  routes_.push_back({method, *split_path(pattern), need, std::move(h)});
}

const Route* Router::match(const std::string& method, const std::vector<std::string>& segments,
                           std::map<std::string, std::string>& params, bool& path_known) const {
  path_known = false;
  for (const Route& r : routes_) {
    if (r.pattern.size() != segments.size()) continue;
    std::map<std::string, std::string> caught;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& p = r.pattern[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}')
        caught[p.substr(1, p.size() - 2)] = segments[i];
      else
        ok = p == segments[i];
    }
    if (!ok) continue;
    path_known = true;
    if (r.method != method && !(r.method == "GET" && method == "HEAD")) continue;
    params = std::move(caught);
    return &r;
  }
  return nullptr;
}

}  // namespace atelier::dashboard
