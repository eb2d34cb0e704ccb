// A small HTTP client for the dashboard tests (Poco), plus a raw-socket sender
// for requests a well-behaved client would never send (unnormalised paths,
// lying Content-Length headers).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace atelier::test {

struct HttpResult {
  int status = 0;
  std::string body, content_type;
  std::multimap<std::string, std::string> headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpRequest {
  std::string method = "GET", path = "/", body, content_type;
  std::map<std::string, std::string> headers;
};

HttpResult http(int port, const HttpRequest& r);
inline HttpResult http_get(int port, const std::string& path,
                           const std::map<std::string, std::string>& headers = {}) {
  return http(port, {"GET", path, "", "", headers});
}
// Sends `raw` as is and returns the status line's code and the rest.
HttpResult http_raw(int port, const std::string& raw);

}  // namespace atelier::test
