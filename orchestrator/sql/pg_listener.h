// Wake-ups across hosts: an idle worker LISTENs on its schema's channel on a
// connection of its own, and every commit that makes a job ready NOTIFYs it
// (PgConnection::notify_ready). LISTEN is issued before the first claim, and
// PostgreSQL queues notifications for a listening session, so a job made ready
// between a worker's empty claim and its wait is never slept through. A lost
// connection ends the wait early (the caller claims again, which waits for the
// server through RetryingStore) and is made again on the next wait, which then
// returns at once: what was sent meanwhile is lost, so the caller looks again.
#pragma once
#include <memory>
#include <string>

#include "../wakeup.h"

namespace atelier::sql {

class PgConnection;

class PgListener final : public Waiter {
 public:
  explicit PgListener(std::string url);
  ~PgListener() override;
  void drain() override;
  bool wait(int64_t timeout_ms, int interrupt_fd = -1) override;

 private:
  bool listen();  // false while the server cannot be reached
  std::string url_;
  std::unique_ptr<PgConnection> conn_;
};

}  // namespace atelier::sql
