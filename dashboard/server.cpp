// See server.h.
#include "dashboard/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "dashboard/http_util.h"
#include "dashboard/page_layout.h"

namespace atelier::dashboard {

namespace {

using Poco::Net::HTTPResponse;

// Every response: no sniffing, no framing, no referrer leaks, and scripts,
// styles and images from this origin only (pages have no inline script).
void security_headers(Poco::Net::HTTPServerResponse& res) {
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  if (!res.has("Content-Security-Policy"))
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'");
}

void send_plain(Poco::Net::HTTPServerResponse& res, int status, const std::string& message) {
  res.setStatus(static_cast<HTTPResponse::HTTPStatus>(status));
  res.setContentType("application/json");
  const std::string body = nlohmann::json{{"error", message}, {"status", status}}.dump();
  res.setContentLength(static_cast<std::streamsize>(body.size()));
  security_headers(res);
  res.send() << body;
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(Dashboard& d, RateLimiter& limiter, const ServerOptions& o)
      : dashboard_(d), limiter_(limiter), options_(o) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& res) override {
    Request req;
    req.client = in.clientAddress().host().toString();
    if (!limiter_.allow(req.client)) {
      res.set("Retry-After", "1");
      return send_plain(res, 429, "too many requests; slow down");
    }
    req.method = in.getMethod();
    req.path = in.getURI();
    // The body: refused from its declared length before a byte is read, and
    // read no further than the limit when its length is not declared.
    if (in.hasContentLength() &&
        in.getContentLength64() > static_cast<int64_t>(options_.max_body_bytes)) {
      res.setKeepAlive(false);
      return send_plain(
          res, 413,
          "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
    }
    if (in.hasContentLength() || in.getChunkedTransferEncoding()) {
      std::string body;
      char buf[16384];
      std::istream& s = in.stream();
      while (s.read(buf, sizeof buf) || s.gcount() > 0) {
        body.append(buf, static_cast<size_t>(s.gcount()));
        if (body.size() > options_.max_body_bytes) {
          // Read (and drop) a little more, so a client that sent a body just
          // over the limit in one go sees this answer instead of a reset; a
          // huge one is cut off when the connection closes.
          for (size_t extra = 0; extra < options_.max_body_bytes && s.read(buf, sizeof buf);)
            extra += static_cast<size_t>(s.gcount());
          res.setKeepAlive(false);
          return send_plain(
              res, 413,
              "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
        }
      }
      req.body = std::move(body);
    }
    req.content_type = in.getContentType();
    req.authorization = in.get("Authorization", "");
    req.cookie = in.get("Cookie", "");
    req.csrf_header = in.get("X-CSRF-Token", "");
    req.accept = in.get("Accept", "");
    const auto qpos = req.path.find('?');
    if (qpos != std::string::npos)
      req.query = parse_query(std::string_view(req.path).substr(qpos + 1));
    if (req.content_type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      req.form = parse_query(req.body);
    } else if (req.content_type.rfind("application/json", 0) == 0 && !req.body.empty()) {
      req.json = nlohmann::json::parse(req.body, nullptr, false);
      if (req.json.is_discarded())
        return send_plain(res, 400, "the request body is not valid JSON");
    }

    Reply rep = dashboard_.handle(req);
    res.setStatus(static_cast<HTTPResponse::HTTPStatus>(rep.status));
    for (const auto& [k, v] : rep.headers) {
      if (k == "Set-Cookie")
        res.add(k, v);
      else
        res.set(k, v);
    }
    security_headers(res);
    res.setContentType(rep.content_type);
    if (rep.stream) {
      res.setChunkedTransferEncoding(true);
      std::ostream& out = res.send();
      DashboardEnv& env = dashboard_.env();
      try {
        rep.stream(out, [&env] { return env.stopping.load(); });
      } catch (const std::exception& e) {
        spdlog::debug("live stream ended: {}", e.what());
      }
      return;
    }
    if (!rep.file.empty()) {
      std::ifstream f(rep.file, std::ios::binary);
      if (!f) return send_plain(res, 404, "not found");
      res.setContentLength64(static_cast<Poco::UInt64>(std::filesystem::file_size(rep.file)));
      if (req.method == "HEAD") return (void)res.send();
      Poco::StreamCopier::copyStream(f, res.send());
      return;
    }
    res.setContentLength(static_cast<std::streamsize>(rep.body.size()));
    std::ostream& out = res.send();
    if (req.method != "HEAD") out << rep.body;
  }

 private:
  Dashboard& dashboard_;
  RateLimiter& limiter_;
  const ServerOptions& options_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(Dashboard& d, RateLimiter& limiter, const ServerOptions& o)
      : dashboard_(d), limiter_(limiter), options_(o) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(dashboard_, limiter_, options_);
  }

 private:
  Dashboard& dashboard_;
  RateLimiter& limiter_;
  const ServerOptions& options_;
};

}  // namespace

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

DashboardServer::DashboardServer(Dashboard& dashboard, std::shared_ptr<Clock> clock,
                                 ServerOptions options)
    : dashboard_(dashboard),
      clock_(std::move(clock)),
      options_(std::move(options)),
      limiter_(*clock_, options_.rate_per_second, options_.rate_burst) {}

DashboardServer::~DashboardServer() {
  stop();
}

void DashboardServer::start() {
  Poco::Net::ServerSocket socket(
      Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)));
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(options_.max_threads);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setTimeout(Poco::Timespan(30, 0));
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(dashboard_, limiter_, options_),
                                                    socket, params);
  server_->start();
}

void DashboardServer::stop() {
  if (!server_) return;
  dashboard_.stop();  // live streams see it at their next poll
  server_->stopAll(true);
  server_.reset();
}

std::string DashboardServer::url() const {
  const std::string host =
      options_.bind.find(':') != std::string::npos ? "[" + options_.bind + "]" : options_.bind;
  return "http://" + host + ":" + std::to_string(port_);
}

}  // namespace atelier::dashboard
