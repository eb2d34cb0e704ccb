// Chaos: workers SIGKILLed at random during a run, then the `run` process
// itself killed and started again with the same key. No job is lost, no output
// is stored twice, the database is intact.
#include <gtest/gtest.h>
#include <signal.h>

#include <random>
#include <thread>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

TEST(Chaos, RandomWorkerKillsAndARestartedOrchestratorLoseNothing) {
  TempWorkspace tw(fast_config());
  auto spec = tw.write_file("chaos.yaml", R"(version: 1
name: chaos
stages:
  - id: make
    kind: sleep
    matrix: {i: )" + range_list(150) + R"(}
    with: {ms: 40, output: true}
  - id: after
    kind: sleep
    needs: make
    matrix: {i: )" + range_list(20) + R"(}
    with: {ms: 10, output: true}
)");
  const std::string w = tw.dir().string();
  const std::vector<std::string> args{"-w",    w,         "run",       spec.string(),
                                      "--key", "chaos-1", "--workers", "sleep=3"};
  auto store = tw.store();
  std::mt19937 rng(42);
  int kills = 0;
  {
    BackgroundProc run(args, (tw.dir() / "run1.log").string());
    ASSERT_TRUE(wait_until([&] { return store->get_run(1).has_value(); }));
    // Kill a random worker every so often while the first stage is under way.
    while (kills < 8) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 150));
      auto workers = child_pids(run.pid());
      if (workers.empty()) continue;
      ::kill(workers[rng() % workers.size()], SIGKILL);
      ++kills;
    }
    ASSERT_EQ(store->get_run(1)->state, "running")
        << "the run ended before the orchestrator was killed";
    run.signal(SIGKILL);  // the orchestrator dies without draining
    run.wait();
  }
  // Its workers saw their parent die and drained; a new `run` with the same key takes over.
  ProcResult again = run_atelier(args);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("taking up r1"), std::string::npos) << again.err;

  EXPECT_EQ(store->get_run(1)->state, "succeeded");
  auto jobs = store->list_jobs({.run_id = 1});
  ASSERT_EQ(jobs.size(), 170u);
  auto assets = assets_per_job(*store, 1);
  for (const JobRow& j : jobs) {
    EXPECT_EQ(j.state, "succeeded") << "j" << j.id;
    EXPECT_EQ(assets[j.id], 1) << "j" << j.id;
  }
  EXPECT_EQ(store->asset_shas().size(), 170u);
  EXPECT_EQ(files_under(tw.ws().assets_dir()), 170u);  // no duplicate file either
  int crashed = 0;
  for (const AttemptRow& a : store->all_attempts(1)) {
    EXPECT_NE(a.outcome, "running") << "j" << a.job_id << " attempt " << a.attempt;
    if (a.outcome == "crashed" || a.outcome == "lease_expired") ++crashed;
  }
  EXPECT_GT(crashed, 0);  // the kills really hit running jobs
  EXPECT_EQ(store->integrity_check(), "ok");
}
