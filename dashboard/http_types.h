// The dashboard's view of a request and its reply, apart from Poco: handlers
// take a Request and return a Reply, so they can be called directly in tests
// and the server adapter (server.cpp) is the only code that touches sockets.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace atelier::dashboard {

struct Request {
  std::string method;                        // GET, POST, DELETE
  std::string path;                          // raw, before decoding
  std::vector<std::string> segments;         // decoded (http_util.h: split_path)
  std::map<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> form;   // an application/x-www-form-urlencoded body
  nlohmann::json json = nullptr;             // an application/json body (null if none)
  std::string body, content_type;
  std::string authorization, cookie, csrf_header, accept;
  std::string client;  // peer address; limits count by client_key(client)
};

// Who is asking. role is empty for an anonymous reader.
struct Principal {
  std::string name, role;
  int64_t token_id = 0;
  bool via_cookie = false;  // a browser session: actions must also carry its CSRF token
  std::string csrf;         // the session's CSRF token
  std::string actor() const { return role.empty() ? "anonymous" : "web:" + name; }
  bool can_act() const { return role == "admin"; }
};

struct Reply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::filesystem::path file;  // when set, the reply's body is this file
  // When set, the reply is a stream (Server-Sent Events): called with the open
  // response stream; it returns when `stopping()` is true or a write fails.
  std::function<void(std::ostream&, const std::function<bool()>& stopping)> stream;

  static Reply json_reply(const nlohmann::json& j, int status = 200) {
    Reply r;
    r.status = status;
    r.content_type = "application/json";
    r.body = j.dump();
    return r;
  }
  static Reply error(int status, const std::string& message) {
    return json_reply({{"error", message}, {"status", status}}, status);
  }
  static Reply redirect(const std::string& to) {
    Reply r;
    r.status = 303;
    r.headers.emplace_back("Location", to);
    return r;
  }
};

}  // namespace atelier::dashboard
