// See server.h.
#include "dashboard/server.h"

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timestamp.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "common/errors.h"
#include "dashboard/client_limits.h"
#include "dashboard/connection_gate.h"
#include "dashboard/http_util.h"
#include "dashboard/page_layout.h"
#include "dashboard/worker_pool.h"

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

// The connection this worker thread serves, for the handler: its read
// deadline, and whether its client is still there.
thread_local GatedConnection* t_connection = nullptr;

// The client closed its end (a browser tab closed, an EventSource dropped):
// a live stream ends at its next poll instead of at its next write.
bool client_gone(GatedConnection* c) {
  if (!c) return false;
  pollfd p{static_cast<int>(c->socket.impl()->sockfd()), POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void set_read_deadline(int64_t ms) {
  if (t_connection) ConnectionGate::set_deadline(*t_connection, ms);
}

void send_plain(Poco::Net::HTTPServerResponse& res, int status, const std::string& message) {
  res.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
  res.setContentType("application/json");
  const std::string body = nlohmann::json{{"error", message}, {"status", status}}.dump();
  res.setContentLength(static_cast<std::streamsize>(body.size()));
  security_headers(res);
  res.send() << body;
}

// One request from its parsed head to its response.
class RequestHandler {
 public:
  RequestHandler(Dashboard& d, RateLimiter& limiter, ClientCounter& streams, const ServerOptions& o)
      : dashboard_(d), limiter_(limiter), streams_(streams), options_(o) {}

  void handle(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& res) {
    Request req;
    req.client = t_connection ? t_connection->client : in.clientAddress().host().toString();
    const std::string client = client_key(req.client);
    const bool has_body = in.hasContentLength() || in.getChunkedTransferEncoding();
    // The head is in; the body, if any, must follow within its own deadline.
    set_read_deadline(has_body ? options_.body_timeout_ms : 0);
    if (!limiter_.allow(client)) {
      res.set("Retry-After", "1");
      res.setKeepAlive(false);  // its body, if any, is not read
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
    if (has_body) {
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
      // A body cut short (its deadline passed, or the client went) is not a
      // request; a chunked one cut short reads as if complete, hence `cut`.
      if ((t_connection && t_connection->cut) ||
          (in.hasContentLength() && static_cast<int64_t>(body.size()) < in.getContentLength64())) {
        res.setKeepAlive(false);
        return send_plain(res, 400,
                          "the request body was cut short (the client closed, or it did not "
                          "arrive within " +
                              std::to_string(options_.body_timeout_ms) + " ms)");
      }
      req.body = std::move(body);
    }
    set_read_deadline(0);
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
    // A live stream holds a thread for as long as it is open: so many per
    // client, and so many in all, leaving threads for every other request.
    ClientSlot stream_slot;
    if (rep.stream) {
      res.setKeepAlive(false);  // refused or ended, a stream's connection is done with
      switch (streams_.take(client)) {
        case ClientCounter::Refusal::total:
          res.set("Retry-After", "5");
          return send_plain(res, 503,
                            "the server holds its limit of " +
                                std::to_string(options_.max_streams) +
                                " live streams; try again shortly");
        case ClientCounter::Refusal::client:
          res.set("Retry-After", "5");
          return send_plain(res, 429,
                            "too many live streams from this address (limit " +
                                std::to_string(options_.max_streams_per_client) +
                                "); close a page that updates live and try again");
        case ClientCounter::Refusal::none:
          stream_slot = ClientSlot(streams_, client);
          break;
      }
    }
    res.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(rep.status));
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
      GatedConnection* conn = t_connection;
      try {
        rep.stream(out, [&env, conn] { return env.stopping.load() || client_gone(conn); });
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
  ClientCounter& streams_;
  const ServerOptions& options_;
};

}  // namespace

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

std::string server_options_problem(const ServerOptions& o) {
  auto at_least = [](const char* flag, int64_t v, int64_t min) {
    return v >= min ? std::string()
                    : std::string(flag) + " must be at least " + std::to_string(min) + ", not " +
                          std::to_string(v);
  };
  for (std::string p : {at_least("--max-threads", o.max_threads, 2),
                        at_least("--max-connections", o.max_connections, 1),
                        at_least("--max-connections-per-client", o.max_connections_per_client, 1),
                        at_least("--max-streams", o.max_streams, 1),
                        at_least("--max-streams-per-client", o.max_streams_per_client, 1),
                        at_least("--header-timeout (ms)", o.header_timeout_ms, 1),
                        at_least("--body-timeout (ms)", o.body_timeout_ms, 1)})
    if (!p.empty()) return p;
  if (o.max_streams >= o.max_threads)
    return "--max-streams (" + std::to_string(o.max_streams) + ") must be below --max-threads (" +
           std::to_string(o.max_threads) + "): each live stream holds a thread, and requests " +
           "need some left";
  return "";
}

// What a started server runs: the gate with its connections, the worker
// threads, and the count of live streams.
struct DashboardServer::Running {
  Running(Dashboard& d, RateLimiter& limiter, const ServerOptions& o,
          Poco::Net::ServerSocket socket)
      : dashboard(d),
        limiter(limiter),
        options(o),
        params(new Poco::Net::HTTPServerParams),
        streams(o.max_streams_per_client, o.max_streams),
        workers(o.max_threads),
        gate(std::move(socket),
             GateOptions{o.max_connections, o.max_connections_per_client, o.header_timeout_ms},
             [this](std::shared_ptr<GatedConnection> c) {
               workers.post([this, c = std::move(c)]() mutable { serve(std::move(c)); });
             }) {
    params->setKeepAlive(true);
    // Each read and write on its own: a peer that stops reading a response
    // fails the write after this long.
    params->setTimeout(Poco::Timespan(30, 0));
  }

  // Serves a connection's requests while they are at hand, then parks it in
  // the gate for its next one (or closes it).
  void serve(std::shared_ptr<GatedConnection> c) {
    gate.hold(c.get());
    t_connection = c.get();
    bool park = false;
    try {
      if (!c->session) c->session = std::make_unique<GatedSession>(c->socket, params);
      GatedSession& session = *c->session;
      while (true) {
        // The gate saw a whole head; one read ahead (pipelined) may still be arriving.
        ConnectionGate::set_deadline(*c, options.header_timeout_ms);
        if (!session.hasMoreRequests()) break;
        serve_one(session);
        if (!session.getKeepAlive() || dashboard.env().stopping) break;
        if (session.read_ahead() == 0) {
          park = true;
          break;
        }
      }
    } catch (const Poco::Net::NoMessageException&) {
      // closed between requests
    } catch (const Poco::Net::MessageException& e) {  // a malformed head
      try {
        Poco::Net::HTTPServerResponseImpl res(*c->session);
        res.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
        res.setKeepAlive(false);
        send_plain(res, 400, std::string("malformed request: ") + e.displayText());
      } catch (const std::exception&) {
      }
    } catch (const std::exception& e) {
      spdlog::debug("dashboard: connection from {} ended: {}", c->client, e.what());
    }
    ConnectionGate::set_deadline(*c, 0);
    t_connection = nullptr;
    gate.let_go(c.get());
    if (park) gate.park(std::move(c));
  }

  // One request and its response (what Poco's HTTPServerConnection does per request).
  void serve_one(GatedSession& session) {
    Poco::Net::HTTPServerResponseImpl response(session);
    Poco::Net::HTTPServerRequestImpl request(response, session, params.get());
    response.setDate(Poco::Timestamp());
    response.setVersion(request.getVersion());
    response.setKeepAlive(params->getKeepAlive() && request.getKeepAlive() &&
                          session.canKeepAlive());
    try {
      RequestHandler handler(dashboard, limiter, streams, options);
      if (request.getExpectContinue() && response.getStatus() == HTTPResponse::HTTP_OK)
        response.sendContinue();
      handler.handle(request, response);
      session.setKeepAlive(params->getKeepAlive() && response.getKeepAlive() &&
                           session.canKeepAlive());
    } catch (const Poco::Net::MessageException& e) {  // a malformed body
      session.setKeepAlive(false);
      if (!response.sent()) {
        response.setKeepAlive(false);
        send_plain(response, 400, std::string("malformed request: ") + e.displayText());
      }
    } catch (const std::exception&) {
      if (!response.sent()) {
        try {
          response.setKeepAlive(false);
          send_plain(response, 500, "internal error (see the serve log)");
        } catch (const std::exception&) {
        }
      }
      throw;
    }
  }

  Dashboard& dashboard;
  RateLimiter& limiter;
  const ServerOptions& options;
  Poco::Net::HTTPServerParams::Ptr params;
  ClientCounter streams;
  WorkerPool workers;
  ConnectionGate gate;  // after workers: its dispatch posts to them
};

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
  if (const std::string problem = server_options_problem(options_); !problem.empty())
    throw InputError("serve: " + problem);
  // A peer that goes away mid-response must fail the write, not end the process.
  ::signal(SIGPIPE, SIG_IGN);
  Poco::Net::ServerSocket socket(
      Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)),
      /*backlog=*/1024);
  port_ = socket.address().port();
  running_ = std::make_unique<Running>(dashboard_, limiter_, options_, std::move(socket));
  running_->gate.start();
}

void DashboardServer::stop() {
  if (!running_) return;
  dashboard_.stop();      // live streams see it at their next poll
  running_->gate.stop();  // no new connections; reads and writes in flight fail
  running_->workers.stop();
  running_.reset();
}

std::string DashboardServer::url() const {
  const std::string host =
      options_.bind.find(':') != std::string::npos ? "[" + options_.bind + "]" : options_.bind;
  return "http://" + host + ":" + std::to_string(port_);
}

}  // namespace atelier::dashboard
