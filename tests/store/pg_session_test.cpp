// What only a server store has: a connection the server ends is made again and
// the call goes through (RetryingStore), an idle worker's LISTEN wakes on
// another connection's commit, and one connection at a time leads a role.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

// Ends every server session whose application_name is `app` (as a server
// restart or a network cut would, from the client's side).
int terminate_sessions(const std::string& app) {
  PGconn* c = PQconnectdb(std::getenv("ATELIER_TEST_PG"));
  const std::string sql =
      "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
      app + "'";
  PGresult* r = PQexec(c, sql.c_str());
  const int n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoi(PQgetvalue(r, 0, 0)) : -1;
  PQclear(r);
  PQfinish(c);
  return n;
}

struct PgSession : ::testing::Test {
  PgSchema schema;
  std::string app = "atelier-session-test-" + std::to_string(::getpid());
  std::string url = schema.url() + "&application_name=" + app;
  TempWorkspace tw{"store: \"" + url + "\"\n"};
};

}  // namespace

TEST_F(PgSession, ACallAfterTheServerEndedTheSessionGoesThrough) {
  auto store = tw.store();
  const int64_t run = store->submit_run(simple_run("before", 2)).run_id;
  ASSERT_GE(terminate_sessions(app), 1);
  // The next calls meet a dead connection, reconnect and succeed.
  EXPECT_EQ(store->get_run(run)->name, "before");
  auto leases = store->claim({"w1", 1, {"sleep"}, 2, 1000, "/tmp/logs"});
  ASSERT_EQ(leases.size(), 2u);
  ASSERT_GE(terminate_sessions(app), 1);
  std::vector<Completion> done;
  for (const Lease& l : leases) done.push_back({l.job_id, l.attempt, {}, {}});
  const auto fences = store->complete(done);
  EXPECT_EQ(fences, std::vector<FenceResult>(2, FenceResult::ok));
  EXPECT_EQ(store->get_run(run)->state, "succeeded");
}

TEST_F(PgSession, AnIdleWorkerIsWokenByAnotherConnectionsCommit) {
  auto waiter = tw.ws().open_waiter();
  waiter->drain();
  EXPECT_FALSE(waiter->wait(200));  // nothing ready: the wait runs out
  auto other = tw.store();
  other->submit_run(simple_run("wake", 1));
  EXPECT_TRUE(waiter->wait(30'000));  // the submit's NOTIFY
  // A listener whose session the server ended comes back for the next wait.
  ASSERT_GE(terminate_sessions(app), 1);
  waiter->wait(1000);  // notices the end (true: the caller looks again)
  other->submit_run(simple_run("wake-again", 1));
  bool woken = false;
  for (int i = 0; i < 5 && !woken; ++i) woken = waiter->wait(10'000);
  EXPECT_TRUE(woken);
}

TEST_F(PgSession, OneConnectionLeadsARoleUntilItEnds) {
  auto a = tw.store();
  auto b = tw.store();
  EXPECT_TRUE(a->hold_leadership("lease-rescuer"));
  EXPECT_TRUE(a->hold_leadership("lease-rescuer"));  // still held, not stacked
  EXPECT_FALSE(b->hold_leadership("lease-rescuer"));
  EXPECT_TRUE(b->hold_leadership("cleaner"));  // another role
  a.reset();                                   // its session ends, and its lock with it
  EXPECT_TRUE(b->hold_leadership("lease-rescuer"));
}
