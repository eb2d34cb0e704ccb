// Cancel and retry at the store level.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {
struct ControlTest : StoreTest {
  TempWorkspace tw{"retry: {base_ms: 10, jitter: 0}\n", GetParam()};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<Store> store = tw.store(clock);
  ClaimRequest req(int n = 1) { return {"w", 1, {"sleep"}, n, 1000, "/tmp/logs"}; }
  std::string state(int64_t id) { return store->get_job(id)->state; }
};
}  // namespace

TEST_P(ControlTest, CancellingARunCancelsQueuedJobsAndAsksRunningOnesToStop) {
  NewRun r = simple_run("c", 3);
  r.jobs[2].deps = {0};
  int64_t run = store->submit_run(r).run_id;
  Lease l = store->claim(req()).at(0);
  EXPECT_EQ(store->cancel_run(run), 3);
  EXPECT_EQ(state(2), "cancelled");
  EXPECT_EQ(state(3), "cancelled");
  EXPECT_EQ(state(1), "leased");
  HeartbeatResult hb = store->heartbeat(l.job_id, l.attempt, 1000);
  EXPECT_TRUE(hb.cancel_requested);
  EXPECT_EQ(store->get_run(run)->state, "running");
  // The worker stops and reports; even a crash report ends as cancelled.
  store->fail(l.job_id, l.attempt, FailKind::crashed, "killed after cancel");
  EXPECT_EQ(state(1), "cancelled");
  EXPECT_EQ(store->attempts(1).back().outcome, "cancelled");
  EXPECT_EQ(store->get_run(run)->state, "cancelled");
}

TEST_P(ControlTest, CancellingAJobSkipsItsDependents) {
  NewRun r = simple_run("c", 3);
  r.jobs[1].deps = {0};
  r.jobs[2].deps = {1};
  store->submit_run(r);
  EXPECT_EQ(store->cancel_job(1), 1);
  EXPECT_EQ(state(1), "cancelled");
  EXPECT_EQ(state(2), "skipped");
  EXPECT_EQ(state(3), "skipped");
  EXPECT_THROW(store->cancel_job(99), NotFound);
}

TEST_P(ControlTest, RetryBringsBackDeadJobsAndWhatTheySkipped) {
  NewRun r = simple_run("r", 2);
  r.jobs[0].max_attempts = 1;
  r.jobs[1].deps = {0};
  int64_t run = store->submit_run(r).run_id;
  Lease l = store->claim(req()).at(0);
  store->fail(l.job_id, l.attempt, FailKind::error, "boom");
  EXPECT_EQ(store->get_run(run)->state, "failed");
  EXPECT_EQ(store->retry_run(run), 2);
  EXPECT_EQ(state(1), "ready");
  EXPECT_EQ(state(2), "waiting");
  EXPECT_EQ(store->get_run(run)->state, "running");
  Lease again = store->claim(req()).at(0);
  EXPECT_EQ(again.attempt, 2);
  store->complete({{again.job_id, again.attempt, {}, {}}});
  EXPECT_EQ(state(2), "ready");  // its dependency counter was rebuilt
  Lease last = store->claim(req()).at(0);
  store->complete({{last.job_id, last.attempt, {}, {}}});
  EXPECT_EQ(store->get_run(run)->state, "succeeded");
}

TEST_P(ControlTest, RetryOfOneJobResetsItsSkippedDownstream) {
  NewRun r = simple_run("r", 3);
  r.jobs[0].max_attempts = 1;
  r.jobs[1].deps = {0};
  store->submit_run(r);
  Lease l = store->claim(req()).at(0);
  store->fail(l.job_id, l.attempt, FailKind::error, "boom");
  EXPECT_EQ(state(2), "skipped");
  EXPECT_EQ(store->retry_job(1), 2);
  EXPECT_EQ(state(1), "ready");
  EXPECT_EQ(state(2), "waiting");
  EXPECT_THROW(store->retry_job(42), NotFound);
}

TEST_P(ControlTest, AuditLogRecordsActionsNewestFirst) {
  store->audit("alice", "pause", "sleep", json::object());
  store->audit("bob", "cancel", "r1", {{"jobs", 3}});
  auto events = tw.store()->recent_events(10);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].actor, "bob");
  EXPECT_EQ(events[0].action, "cancel");
  EXPECT_EQ(events[0].target, "r1");
  EXPECT_EQ(events[0].details["jobs"], 3);
  EXPECT_EQ(events[1].actor, "alice");
  EXPECT_EQ(events[0].at, clock->now_ms());
}

INSTANTIATE_STORE_SUITE(ControlTest);
