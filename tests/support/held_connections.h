// A hostile client for the dashboard's denial-of-service test and benchmark:
// connections from a chosen source address (127.0.0.2: any 127/8 address
// reaches a server on 127.0.0.1) that are held open the way no well-mannered
// client holds them: request heads sent in part and never finished, and live
// streams opened and never read. Raw sockets, since the point is to misbehave.
// Also a plain timed GET for the well-behaved client beside it.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace atelier::test {

// A TCP connection from `from` (an address of this host) to 127.0.0.1:port;
// -1 when it could not be made within timeout_ms.
int connect_from(const std::string& from, int port, int timeout_ms = 5000);

// Raises the soft open-files limit to the hard one (holding hundreds of
// connections, a test and an in-process server need more than 1024).
void raise_fd_limit();

class HeldConnections {
 public:
  // Opens `count` connections from `from`; every `stream_every`-th one (0:
  // none) asks for `stream_path` in full and never reads, the others send a
  // request head that stops in the middle of a header.
  HeldConnections(const std::string& from, int port, int count, int stream_every,
                  const std::string& stream_path = "/api/v1/stream");
  ~HeldConnections();
  HeldConnections(const HeldConnections&) = delete;
  HeldConnections& operator=(const HeldConnections&) = delete;

  int opened() const { return static_cast<int>(fds_.size()); }
  int failed_to_connect() const { return failed_; }
  // One more byte of each unfinished head, as a slow client sends them.
  void dribble();
  // Reads what the server has sent so far, without waiting; the connections it
  // has closed are reopened when `reopen` (an attack keeping up its pressure).
  void poll(bool reopen = false);
  // Answers seen so far by HTTP status (a connection counts once, at its first
  // answer), and how many the server has closed.
  std::map<int, int> answers() const;
  int closed_by_server() const { return closed_; }

 private:
  struct Held {
    int fd = -1;
    bool stream = false, answered = false, closed = false;
    std::string got;
  };
  void open(Held& h);
  std::string from_, stream_path_;
  int port_;
  std::vector<Held> fds_;
  std::map<int, int> answers_;
  int failed_ = 0, closed_ = 0;
};

struct TimedGet {
  int status = 0;  // 0: no answer (timed out or refused)
  double ms = 0;
  std::string error;
};
// A GET on a fresh connection from 127.0.0.1, read to the end of its body;
// gives up after timeout_ms.
TimedGet timed_get(int port, const std::string& path, int timeout_ms);

}  // namespace atelier::test
