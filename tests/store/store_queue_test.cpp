// The queue's guarantees at the store level, on each engine (a real SQLite file,
// a real PostgreSQL server) and a manual clock: ordering, leases, heartbeats, fencing, retries,
// dependencies.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

struct QueueTest : StoreTest {
  TempWorkspace tw{"retry: {base_ms: 1000, max_ms: 8000, jitter: 0}\n", GetParam()};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<Store> store = tw.store(clock);

  ClaimRequest req(const std::string& worker, int n = 1, int64_t lease = 1000) {
    return {worker, 1, {"sleep"}, n, lease, "/tmp/logs"};
  }
  JobRow job(int64_t id) { return *store->get_job(id); }
};

}  // namespace

TEST_P(QueueTest, ClaimsByPriorityThenAge) {
  NewRun r = simple_run("prio", 4);
  r.jobs[2].priority = 5;
  r.jobs[3].priority = 5;
  int64_t run = store->submit_run(r).run_id;
  auto leases = store->claim(req("w1", 3));
  ASSERT_EQ(leases.size(), 3u);
  EXPECT_EQ(leases[0].job_id, 3);
  EXPECT_EQ(leases[1].job_id, 4);
  EXPECT_EQ(leases[2].job_id, 1);
  for (const Lease& l : leases) {
    EXPECT_EQ(l.attempt, 1);
    EXPECT_EQ(l.run_id, run);
    EXPECT_EQ(job(l.job_id).lease_owner, "w1");
  }
  EXPECT_EQ(store->attempts(3).size(), 1u);
}

TEST_P(QueueTest, HeartbeatKeepsTheLeaseAcrossManyLeaseLengths) {
  store->submit_run(simple_run("long", 1));
  Lease l = store->claim(req("w1")).at(0);
  for (int i = 0; i < 50; ++i) {
    clock->advance(600);  // more than half a lease each time
    EXPECT_EQ(store->heartbeat(l.job_id, l.attempt, 1000, i / 50.0, "step").fence, FenceResult::ok);
    EXPECT_EQ(store->rescue_expired_leases(), 0);
  }
  EXPECT_EQ(store->complete({{l.job_id, l.attempt, {}, {}}})[0], FenceResult::ok);
  JobRow j = job(l.job_id);
  EXPECT_EQ(j.state, "succeeded");
  EXPECT_EQ(j.attempt, 1);
  EXPECT_EQ(store->attempts(l.job_id).size(), 1u);
}

TEST_P(QueueTest, ALateWorkerCannotCompleteOrFailAfterTakeover) {
  store->submit_run(simple_run("late", 1));
  Lease first = store->claim(req("slow")).at(0);
  clock->advance(1001);
  EXPECT_EQ(store->rescue_expired_leases(), 1);
  EXPECT_EQ(job(first.job_id).state, "ready");
  clock->advance(2000);  // past the backoff
  Lease second = store->claim(req("fast")).at(0);
  EXPECT_EQ(second.attempt, 2);
  // The first worker wakes up: every write it tries is fenced out.
  EXPECT_EQ(store->heartbeat(first.job_id, first.attempt, 1000).fence, FenceResult::lost);
  OutputAsset a{"ab12", "text/plain", "txt", 3, "out.txt"};
  EXPECT_EQ(store->complete({{first.job_id, first.attempt, {a}, {}}})[0], FenceResult::lost);
  EXPECT_EQ(store->fail(first.job_id, first.attempt, FailKind::error, "late"), FenceResult::lost);
  EXPECT_TRUE(store->list_assets(std::nullopt).empty());
  EXPECT_EQ(job(first.job_id).state, "leased");
  EXPECT_EQ(store->complete({{second.job_id, second.attempt, {}, {}}})[0], FenceResult::ok);
  auto attempts = store->attempts(first.job_id);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].outcome, "lease_expired");
  EXPECT_EQ(attempts[1].outcome, "succeeded");
}

TEST_P(QueueTest, FailuresBackOffExponentiallyThenDieAndSkipDownstream) {
  NewRun r = simple_run("retry", 3);
  r.jobs[0].max_attempts = 3;
  r.jobs[1].deps = {0};
  r.jobs[2].deps = {1};
  int64_t run = store->submit_run(r).run_id;
  int64_t expected_delay = 1000;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto leases = store->claim(req("w"));
    ASSERT_EQ(leases.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(leases[0].attempt, attempt);
    store->fail(leases[0].job_id, leases[0].attempt, FailKind::error, "boom");
    if (attempt < 3) {
      JobRow j = job(1);
      EXPECT_EQ(j.state, "ready");
      EXPECT_EQ(j.run_after - clock->now_ms(), expected_delay);
      EXPECT_TRUE(store->claim(req("w")).empty());  // not before run_after
      EXPECT_EQ(store->next_ready_at({"sleep"}), j.run_after);
      clock->advance(expected_delay);
      expected_delay *= 2;
    }
  }
  EXPECT_EQ(job(1).state, "dead");
  EXPECT_EQ(job(1).error, "boom");
  EXPECT_EQ(job(2).state, "skipped");
  EXPECT_EQ(job(3).state, "skipped");
  EXPECT_EQ(store->get_run(run)->state, "failed");
}

TEST_P(QueueTest, InvalidInputDiesAtOnceAndReleasedDoesNotCount) {
  NewRun r = simple_run("bad", 2);
  r.jobs[0].max_attempts = 5;
  r.jobs[1].max_attempts = 1;
  store->submit_run(r);
  auto leases = store->claim(req("w", 2));
  store->fail(leases[0].job_id, leases[0].attempt, FailKind::invalid,
              "field 'ms' must be a number");
  EXPECT_EQ(job(1).state, "dead");
  store->fail(leases[1].job_id, leases[1].attempt, FailKind::released, "draining");
  JobRow j = job(2);
  EXPECT_EQ(j.state, "ready");
  EXPECT_EQ(j.failures, 0);  // even with max_attempts 1
  EXPECT_EQ(j.run_after, clock->now_ms());
}

TEST_P(QueueTest, DependentsStartOnlyWhenAllDependenciesSucceed) {
  NewRun r = simple_run("fanin", 4);
  r.jobs[3].deps = {0, 1, 2};
  int64_t run = store->submit_run(r).run_id;
  EXPECT_EQ(job(4).state, "waiting");
  auto leases = store->claim(req("w", 10));
  ASSERT_EQ(leases.size(), 3u);
  store->complete({{leases[0].job_id, leases[0].attempt, {}, {}},
                   {leases[1].job_id, leases[1].attempt, {}, {}}});
  EXPECT_EQ(job(4).state, "waiting");
  store->complete({{leases[2].job_id, leases[2].attempt, {}, {}}});
  EXPECT_EQ(job(4).state, "ready");
  Lease last = store->claim(req("w")).at(0);
  EXPECT_EQ(store->get_run(run)->state, "running");
  store->complete({{last.job_id, last.attempt, {}, {}}});
  EXPECT_EQ(store->get_run(run)->state, "succeeded");
}

TEST_P(QueueTest, CompletionRecordsOutputsAndLineageOnce) {
  store->submit_run(simple_run("assets", 2));
  auto leases = store->claim(req("w", 2));
  OutputAsset a{"aaaa", "text/plain", "txt", 4, "out.txt"};
  store->complete({{leases[0].job_id, leases[0].attempt, {a}, {{"cccc", "image"}}}});
  store->complete({{leases[1].job_id, leases[1].attempt, {a}, {}}});  // same content, second job
  auto assets = store->list_assets(std::nullopt);
  ASSERT_EQ(assets.size(), 2u);  // one row per (job, asset)
  EXPECT_EQ(assets[0].sha256, "aaaa");
  EXPECT_EQ(store->asset_shas().size(), 1u);  // stored once
  // The page reads give what the one-job reads give, with job ids.
  const auto outs = store->outputs_of_jobs(leases[0].job_id, leases[1].job_id);
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].first, leases[0].job_id);
  EXPECT_EQ(outs[1].first, leases[1].job_id);
  EXPECT_EQ(outs[1].second.name, "out.txt");
  EXPECT_EQ(outs[1].second.sha256, store->job_output_assets(leases[1].job_id).at(0).sha256);
  const auto ins = store->inputs_of_jobs(leases[0].job_id, leases[1].job_id);
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0].first, leases[0].job_id);
  EXPECT_EQ(ins[0].second.sha256, "cccc");
  EXPECT_EQ(ins[0].second.role, "image");
  EXPECT_TRUE(store->outputs_of_jobs(leases[1].job_id + 1, leases[1].job_id + 100).empty());
}

TEST_P(QueueTest, ConcurrencyLimitAndPauseGateClaims) {
  store->submit_run(simple_run("limits", 6));
  store->set_limit("sleep", 2);
  auto a = store->claim(req("w1", 5));
  EXPECT_EQ(a.size(), 2u);
  EXPECT_TRUE(store->claim(req("w2", 5)).empty());
  store->complete({{a[0].job_id, a[0].attempt, {}, {}}});
  EXPECT_EQ(store->claim(req("w2", 5)).size(), 1u);
  store->set_limit("sleep", 0);
  store->set_paused("sleep", true);
  EXPECT_TRUE(store->claim(req("w3", 5)).empty());
  EXPECT_EQ(store->paused_kinds(), std::vector<std::string>{"sleep"});
  store->set_paused("sleep", false);
  EXPECT_EQ(store->claim(req("w3", 5)).size(), 3u);
}

TEST_P(QueueTest, IdempotencyKeyReturnsTheSameRunOrNamesTheConflict) {
  NewRun r = simple_run("nightly", 3, "sleep", "2026-11-29");
  SubmitResult first = store->submit_run(r);
  SubmitResult again = store->submit_run(r);
  EXPECT_FALSE(first.existing);
  EXPECT_TRUE(again.existing);
  EXPECT_EQ(first.run_id, again.run_id);
  EXPECT_EQ(store->list_jobs({}).size(), 3u);
  r.params = {{"seed", 2}};
  try {
    store->submit_run(r);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("already used by run r1"), std::string::npos) << e.what();
  }
}

TEST_P(QueueTest, EmptyRunSucceedsAtOnce) {
  int64_t run = store->submit_run(simple_run("empty", 0)).run_id;
  EXPECT_EQ(store->get_run(run)->state, "succeeded");
}

TEST_P(QueueTest, JobListingsPageThroughOneRunByKeyset) {
  store->submit_run(simple_run("first", 5));
  store->submit_run(simple_run("second", 5));
  JobFilter f{.run_id = 2, .limit = 2};
  std::vector<int64_t> seen;
  for (;;) {
    auto page = store->list_jobs(f);
    for (const JobRow& j : page) {
      EXPECT_EQ(j.run_id, 2);
      seen.push_back(j.id);
    }
    if (page.size() < 2) break;
    f.after_id = page.back().id;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{6, 7, 8, 9, 10}));
  EXPECT_EQ(store->list_jobs({.state = "ready", .limit = 100}).size(), 10u);
  EXPECT_EQ(store->job_counts(1, false).at(0).count, 5);
}

// A lookup left mid-result once held a stale read snapshot, and the next write
// transaction failed at once with "database is locked" after another process
// had committed (a generate worker's completion after its model lookup).
TEST_P(QueueTest, WritesAfterLookupsSeeOtherProcessesCommits) {
  store->register_model({"aa", "base", "m", json::object(), std::nullopt, "/m", 1});
  ASSERT_TRUE(store->find_model("m"));
  auto other = tw.store(clock);
  other->register_model({"bb", "base", "n", json::object(), std::nullopt, "/n", 2});
  EXPECT_NO_THROW(store->claim(req("w")));
  EXPECT_TRUE(store->find_model("n")) << "a fresh snapshot sees the other process's row";
}

INSTANTIATE_STORE_SUITE(QueueTest);
