// A full disk at the store level, on each engine and a manual clock: a job that
// met one waits for space without spending attempts, the folder is recorded,
// space coming back (a probe, or a job that had waited completing) releases
// every waiting job, and jobs a full disk killed before can be revived.
#include <gtest/gtest.h>

#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

struct DiskFullTest : StoreTest {
  TempWorkspace tw{"retry: {base_ms: 1000, max_ms: 8000, jitter: 0}\ndisk_full: {retry_ms: 500}\n",
                   GetParam()};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<Store> store = tw.store(clock);

  ClaimRequest req(const std::string& worker, int n = 1) {
    return {worker, 1, {"sleep"}, n, 1000, "/tmp/logs"};
  }
  JobRow job(int64_t id) { return *store->get_job(id); }
  DiskFullRow seen(const std::string& path = "/srv/assets") {
    DiskFullRow d;
    d.host = "hostA";
    d.path = path;
    d.error = "disk full at " + path + ": write " + path + "/x.tmp: No space left on device";
    d.free_bytes = 4096;
    return d;
  }
  std::vector<std::string> outcomes(int64_t job_id) {
    std::vector<std::string> out;
    for (const AttemptRow& a : store->attempts(job_id)) out.push_back(a.outcome);
    return out;
  }
};

}  // namespace

TEST_P(DiskFullTest, AJobWaitsForSpaceWithoutSpendingAttempts) {
  NewRun r = simple_run("full", 1);
  r.jobs[0].max_attempts = 2;
  const int64_t run = store->submit_run(r).run_id;
  // Twice max_attempts disk-full attempts: it never dies, the wait doubles to max_ms.
  const int64_t waits[] = {500, 1000, 2000, 4000};
  for (int64_t wait : waits) {
    Lease l = store->claim(req("hostA:7")).at(0);
    ASSERT_EQ(store->wait_for_space(l.job_id, l.attempt, seen()), FenceResult::ok);
    JobRow j = job(1);
    EXPECT_EQ(j.state, "ready");
    EXPECT_EQ(j.failures, 0);
    EXPECT_EQ(j.run_after - clock->now_ms(), wait);
    EXPECT_NE(j.error->find("No space left on device"), std::string::npos);
    EXPECT_TRUE(store->claim(req("hostA:7")).empty());
    EXPECT_EQ(store->waiting_for_space(run), 1);
    EXPECT_EQ(store->waiting_for_space(std::nullopt), 1);
    clock->advance(wait);
  }
  EXPECT_EQ(outcomes(1), std::vector<std::string>(4, "disk_full"));
  EXPECT_EQ(store->get_run(run)->state, "running");
  auto full = store->disk_full();
  ASSERT_EQ(full.size(), 1u);  // one row per host and folder, refreshed
  EXPECT_EQ(full[0].host, "hostA");
  EXPECT_EQ(full[0].path, "/srv/assets");
  EXPECT_EQ(full[0].free_bytes, 4096);
  EXPECT_LT(full[0].since, full[0].seen_at);
  // An ordinary failure still counts.
  Lease l = store->claim(req("hostA:7")).at(0);
  store->fail(l.job_id, l.attempt, FailKind::error, "boom");
  EXPECT_EQ(job(1).failures, 1);
  EXPECT_EQ(store->waiting_for_space(run), 0);
}

TEST_P(DiskFullTest, AFencedOutWorkerRecordsNothing) {
  store->submit_run(simple_run("late", 1));
  Lease first = store->claim(req("hostA:1")).at(0);
  clock->advance(1001);
  store->rescue_expired_leases();
  clock->advance(1000);
  Lease second = store->claim(req("hostA:2")).at(0);
  EXPECT_EQ(store->wait_for_space(first.job_id, first.attempt, seen()), FenceResult::lost);
  EXPECT_TRUE(store->disk_full().empty());
  EXPECT_EQ(job(1).state, "leased");
  EXPECT_EQ(job(1).attempt, second.attempt);
}

TEST_P(DiskFullTest, SpaceReturnedReleasesEveryWaitingJobOnce) {
  store->submit_run(simple_run("probe", 3));
  auto leases = store->claim(req("hostA:1", 3));
  ASSERT_EQ(leases.size(), 3u);
  for (const Lease& l : leases) store->wait_for_space(l.job_id, l.attempt, seen());
  store->wait_for_space(0, 0, seen("/w/logs"));  // fenced out: no row for this folder
  EXPECT_TRUE(store->claim(req("hostA:1")).empty());
  EXPECT_EQ(store->space_returned("hostB", "/srv/assets"), -1);  // not this host's folder
  EXPECT_EQ(store->space_returned("hostA", "/srv/assets"), 3);
  EXPECT_EQ(store->space_returned("hostA", "/srv/assets"), -1);  // another worker saw it first
  EXPECT_TRUE(store->disk_full().empty());
  EXPECT_EQ(store->claim(req("hostA:1", 3)).size(), 3u);  // at once, not after the backoff
}

TEST_P(DiskFullTest, AJobThatWaitedCompletingClearsItsHostAndReleasesTheRest) {
  store->submit_run(simple_run("back", 2));
  for (const Lease& l : store->claim(req("hostA:1", 2)))
    store->wait_for_space(l.job_id, l.attempt, seen());
  clock->advance(500);
  Lease j1 = store->claim(req("hostA:1")).at(0);  // space seems back: j1 runs again
  Lease j2 = store->claim(req("hostA:1")).at(0);  // j2 meets the full disk once more
  ASSERT_EQ(j1.job_id, 1);
  ASSERT_EQ(j2.job_id, 2);
  store->wait_for_space(j2.job_id, j2.attempt, seen());
  // Another host's full folder: a completion on hostA says nothing about it.
  store->submit_run(simple_run("b", 1));
  Lease j3 = store->claim(req("hostB:9")).at(0);
  DiskFullRow other = seen("/mnt/b");
  other.host = "hostB";
  store->wait_for_space(j3.job_id, j3.attempt, other);
  ASSERT_EQ(store->disk_full().size(), 2u);
  ASSERT_GT(job(2).run_after, clock->now_ms());

  EXPECT_EQ(store->complete({{j1.job_id, j1.attempt, {}, {}}})[0], FenceResult::ok);
  auto full = store->disk_full();
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].host, "hostB");
  EXPECT_EQ(job(2).run_after, clock->now_ms());  // every waiting job released
  EXPECT_EQ(job(3).run_after, clock->now_ms());
  EXPECT_EQ(job(2).failures, 0);
}

TEST_P(DiskFullTest, CompletingAJobThatNeverWaitedClearsNothing) {
  store->submit_run(simple_run("plain", 2));
  auto leases = store->claim(req("hostA:1", 2));
  store->wait_for_space(leases[0].job_id, leases[0].attempt, seen());
  store->complete({{leases[1].job_id, leases[1].attempt, {}, {}}});
  EXPECT_EQ(store->disk_full().size(), 1u);
  EXPECT_GT(job(leases[0].job_id).run_after, clock->now_ms());
}

TEST_P(DiskFullTest, ReviveBringsBackOnlyJobsAFullDiskKilledAndWhatTheyHeldUp) {
  // j1, j2 fail; j3 succeeds; j4 needs j1; j5 needs j1 and j2.
  NewRun r = simple_run("revive", 5);
  for (NewJob& j : r.jobs) j.max_attempts = 1;
  r.jobs[3].deps = {0};
  r.jobs[4].deps = {0, 1};
  const int64_t run = store->submit_run(r).run_id;
  auto leases = store->claim(req("hostA:1", 3));
  ASSERT_EQ(leases.size(), 3u);
  // Recorded before a full disk was a class of its own: an ordinary failure.
  store->fail(1, leases[0].attempt, FailKind::error,
              "filesystem error: write: No space left on device [/srv/assets/.tmp/put-1.tmp]");
  store->fail(2, leases[1].attempt, FailKind::error, "boom");
  store->complete({{3, leases[2].attempt, {}, {}}});
  ASSERT_EQ(store->get_run(run)->state, "failed");
  EXPECT_EQ(job(4).state, "skipped");
  EXPECT_EQ(job(5).state, "skipped");

  EXPECT_EQ(store->revive_disk_full(run), 2);  // j1 and j4
  EXPECT_EQ(store->get_run(run)->state, "running");
  EXPECT_EQ(job(1).state, "ready");
  EXPECT_EQ(job(1).failures, 0);
  EXPECT_EQ(job(4).state, "waiting");
  EXPECT_EQ(job(2).state, "dead");     // its own fault: `atelier retry`
  EXPECT_EQ(job(5).state, "skipped");  // j2 still holds it
  EXPECT_EQ(store->revive_disk_full(run), 0);

  Lease l1 = store->claim(req("hostA:1")).at(0);
  EXPECT_EQ(l1.job_id, 1);
  store->complete({{1, l1.attempt, {}, {}}});
  Lease l4 = store->claim(req("hostA:1")).at(0);
  EXPECT_EQ(l4.job_id, 4);
  store->complete({{4, l4.attempt, {}, {}}});
  EXPECT_EQ(store->get_run(run)->state, "failed");  // j2 is still dead
  EXPECT_EQ(store->retry_run(run), 2);              // j2 and j5
}

INSTANTIATE_STORE_SUITE(DiskFullTest);
