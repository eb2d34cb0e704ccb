#include "pg_listener.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "pg_connection.h"

namespace atelier::sql {

PgListener::PgListener(std::string url) : url_(std::move(url)) {
  listen();
}

PgListener::~PgListener() = default;

bool PgListener::listen() {
  if (conn_ && conn_->connected()) return true;
  try {
    conn_ = std::make_unique<PgConnection>(url_, false, /*migrate=*/false);
    conn_->exec("LISTEN " + conn_->channel());
    return true;
  } catch (const std::exception&) {
    conn_.reset();
    return false;
  }
}

void PgListener::drain() {
  if (!conn_ || !conn_->connected()) return;
  PGconn* c = conn_->handle();
  PQconsumeInput(c);
  while (PGnotify* n = PQnotifies(c)) PQfreemem(n);
}

bool PgListener::wait(int64_t timeout_ms, int interrupt_fd) {
  if (!conn_ || !conn_->connected()) {
    // Notifications sent while no session listened are lost: once listening
    // again, the caller looks for work at once. Without a server, wait a little
    // (or for the interrupt) before it looks.
    if (listen()) return true;
    pollfd p{interrupt_fd, POLLIN, 0};
    ::poll(&p, interrupt_fd >= 0 ? 1 : 0,
           static_cast<int>(std::clamp<int64_t>(timeout_ms, 0, 1000)));
    return true;
  }
  PGconn* c = conn_->handle();
  pollfd p[2] = {{PQsocket(c), POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
  const int rc =
      ::poll(p, interrupt_fd >= 0 ? 2 : 1, static_cast<int>(timeout_ms < 0 ? 0 : timeout_ms));
  if (rc <= 0) return rc < 0;
  if (p[0].revents) {
    if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) {
      conn_.reset();  // made again on the next wait
      return true;
    }
    while (PGnotify* n = PQnotifies(c)) PQfreemem(n);
  }
  return true;
}

}  // namespace atelier::sql
