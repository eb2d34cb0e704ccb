// The dashboard's route table: method + path pattern -> handler, with what
// the route needs of the caller (nothing, read access, or admin action). A
// pattern segment "{name}" captures the decoded segment there. Matching is on
// decoded segments only (http_util.h), never on raw text.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dashboard/http_types.h"

namespace atelier {
class Store;
}

namespace atelier::dashboard {

struct DashboardEnv;

enum class Need { nothing, read, act };

struct Ctx {
  Request& req;
  Store& store;
  const Principal& who;
  std::map<std::string, std::string> params;
  DashboardEnv& env;
  const std::string& param(const std::string& k) const { return params.at(k); }
};

using Handler = std::function<Reply(Ctx&)>;

struct Route {
  std::string method;
  std::vector<std::string> pattern;
  Need need;
  Handler handler;
};

class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Need need, Handler h);
  // The route for this method and path, with its captures; nullptr when none.
  // `path_known` tells a 405 (the path exists for another method) from a 404.
  const Route* match(const std::string& method, const std::vector<std::string>& segments,
                     std::map<std::string, std::string>& params, bool& path_known) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace atelier::dashboard
