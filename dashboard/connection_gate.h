// The dashboard's listening socket and every connection between requests, so
// that connections held open by a client cost it file descriptors, not the
// server's worker threads.
//
// One thread (epoll) accepts each connection and counts it against its
// client's and the server's connection limits, refusing it at once beyond
// them (429 past the client's limit, 503 past the server's, a JSON body, then
// closed). An accepted connection waits here, holding no thread, until a whole
// request head (request line and headers, up to max_header_bytes) has arrived;
// only then is it handed to a worker. A head not complete within the header
// timeout gets 408 and is closed, so does one larger than max_header_bytes
// (431); an idle keep-alive connection is closed after the same timeout. After
// its response a worker parks the connection here again for its next request.
//
// While a worker holds a connection, the gate enforces the worker's read
// deadline (a body, or a pipelined head, that does not arrive in time): it
// shuts the socket down, the blocked read fails and the thread is free.
// Deadlines are on the steady clock: they bound real sockets, and tests set
// them short instead of stepping a clock.
#pragma once
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "dashboard/client_limits.h"

namespace atelier::dashboard {

struct GateOptions {
  int max_connections = 512;
  int max_connections_per_client = 16;
  int64_t header_timeout_ms = 10'000;
  size_t max_header_bytes = 32 * 1024;
};

// Poco's server session, with what it has read ahead visible: a worker keeps
// serving a connection whose next request is already buffered (pipelining),
// since the gate only sees bytes still in the socket.
class GatedSession : public Poco::Net::HTTPServerSession {
 public:
  using HTTPServerSession::HTTPServerSession;
  int read_ahead() const { return buffered(); }
};

// One client connection, shared by the gate and the worker serving it; it is
// closed, and its place under the limits given back, when both let go.
struct GatedConnection {
  GatedConnection(Poco::Net::StreamSocket s, std::string address, ClientSlot place)
      : socket(std::move(s)), client(std::move(address)), slot(std::move(place)) {}
  Poco::Net::StreamSocket socket;
  std::string client;  // the peer's address
  // Kept from request to request: destroying it closes the socket.
  std::unique_ptr<GatedSession> session;
  // Given back before the socket closes, so a client that sees the close and
  // connects again finds its place free.
  ClientSlot slot;
  std::atomic<int64_t> deadline_ms{0};  // steady ms while a worker holds it; 0: none
  // Set when the gate cut it under its worker (a deadline passed, or the server
  // stops): what the worker read may be cut short.
  std::atomic<bool> cut{false};
};

int64_t steady_ms();

class ConnectionGate {
 public:
  using Dispatch = std::function<void(std::shared_ptr<GatedConnection>)>;
  ConnectionGate(Poco::Net::ServerSocket listening, GateOptions options, Dispatch dispatch);
  ~ConnectionGate();
  ConnectionGate(const ConnectionGate&) = delete;
  ConnectionGate& operator=(const ConnectionGate&) = delete;
  void start();
  // Stops accepting, closes the connections waiting here and shuts down the
  // ones workers hold (their reads and writes fail at once).
  void stop();

  // A connection back from its worker after a response, to wait for its next request.
  void park(std::shared_ptr<GatedConnection> c);
  // A worker serves `c` from hold() to let_go(): its deadline is watched, and stop() cuts it.
  void hold(GatedConnection* c);
  void let_go(GatedConnection* c);
  // The worker's read deadline for `c`, `ms` from now (0: none).
  static void set_deadline(GatedConnection& c, int64_t ms);
  const GateOptions& options() const { return options_; }

 private:
  struct Waiting {
    std::shared_ptr<GatedConnection> conn;
    int64_t deadline = 0;    // steady ms
    int64_t next_look = 0;   // a head still incomplete is looked at again from then
    bool unread = true;      // bytes arrived since the last look
    bool peer_done = false;  // the client shut its side: nothing more will come
    size_t seen = 0;         // bytes of head seen at the last look
  };
  enum class Look { wait, ready, close };
  void run();
  void accept_ready();
  Look look(Waiting& w, int64_t now);
  void watch(int fd, Waiting w);
  void forget(int fd);
  void note_refusal(const std::string& client);

  Poco::Net::ServerSocket listening_;
  const GateOptions options_;
  Dispatch dispatch_;
  ClientCounter connections_;
  int epoll_ = -1, wake_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::unordered_map<int, Waiting> waiting_;   // by socket fd
  std::unordered_set<GatedConnection*> held_;  // by workers
  int64_t refused_since_log_ = 0, last_refusal_log_ms_ = 0;
  std::string last_refused_;
};

}  // namespace atelier::dashboard
