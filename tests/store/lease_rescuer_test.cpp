// The lease rescuer takes back expired leases only, on its interval.
#include <gtest/gtest.h>

#include "orchestrator/lease_rescuer.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

struct LeaseRescuerTest : StoreTest {};

TEST_P(LeaseRescuerTest, TakesBackOnlyExpiredLeasesAndEndsExhaustedJobsDead) {
  TempWorkspace tw{"retry: {base_ms: 10, jitter: 0}\n", GetParam()};
  auto clock = std::make_shared<ManualClock>();
  auto store = tw.store(clock);
  NewRun r = simple_run("rescue", 3);
  r.jobs[2].max_attempts = 1;
  store->submit_run(r);
  auto held = store->claim({"w", 1, {"sleep"}, 3, 1000, "/tmp/l"});
  ASSERT_EQ(held.size(), 3u);
  LeaseRescuer rescuer(*store, *clock, 500);
  clock->advance(900);
  store->heartbeat(held[0].job_id, held[0].attempt, 1000);  // job 1 stays alive
  EXPECT_EQ(rescuer.tick(), 0);                             // nothing expired yet
  clock->advance(200);
  EXPECT_EQ(rescuer.tick(), 0);  // within its interval: no pass
  clock->advance(400);
  EXPECT_EQ(rescuer.tick(), 2);
  EXPECT_EQ(store->get_job(1)->state, "leased");
  EXPECT_EQ(store->get_job(2)->state, "ready");
  EXPECT_EQ(store->get_job(3)->state, "dead");
  EXPECT_EQ(store->attempts(2).at(0).outcome, "lease_expired");
  EXPECT_NE(store->attempts(2).at(0).error->find("worker w stopped heartbeating"),
            std::string::npos);
}

INSTANTIATE_STORE_SUITE(LeaseRescuerTest);
