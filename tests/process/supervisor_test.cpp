// The supervisor with real worker processes: restart after a crash, kill of a
// frozen worker whose lease expired, graceful drain on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "orchestrator/supervisor.h"
#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {
SupervisorOptions options(TempWorkspace& tw, int pool) {
  SupervisorOptions o;
  o.exe = ATELIER_BIN;
  o.worker_args = {"-w", tw.dir().string()};
  o.log_dir = (tw.dir() / "logs" / "workers").string();
  o.pools = {{"sleep", pool}};
  o.cpu_slots = 8;
  o.cancel_grace_ms = 300;
  o.drain_grace_ms = 2000;
  o.restart_backoff_base_ms = 10;
  o.restart_backoff_max_ms = 100;
  return o;
}
}  // namespace

TEST(Supervisor, RestartsACrashedWorkerAndCountsOnlyTheRunningJob) {
  TempWorkspace tw(fast_config());
  auto store = tw.store();
  NewRun r = simple_run("crash", 1);
  r.jobs[0].params = std::make_shared<const json>(json{{"crash_times", 1}, {"ms", 10}});
  store->submit_run(r);
  Supervisor sup(*store, *system_clock(), options(tw, 1));
  ASSERT_TRUE(wait_until([&] {
    sup.tick();
    return store->get_run(1)->state != "running";
  }));
  EXPECT_EQ(store->get_run(1)->state, "succeeded");
  auto attempts = store->attempts(1);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].outcome, "crashed");
  EXPECT_NE(attempts[0].error->find("killed by signal 9 while running this job"),
            std::string::npos);
  EXPECT_NE(attempts[0].pid, attempts[1].pid);
  EXPECT_GE(sup.restarts(), 1);
  sup.begin_drain();
  ASSERT_TRUE(wait_until([&] {
    sup.tick();
    return sup.idle();
  }));
}

TEST(Supervisor, KillsAFrozenWorkerWhoseLeaseExpired) {
  TempWorkspace tw(fast_config() + "lease_ms: 400\n");
  auto store = tw.store();
  NewRun r = simple_run("frozen", 1);
  r.jobs[0].params = std::make_shared<const json>(json{{"ms", 300}});
  store->submit_run(r);
  Supervisor sup(*store, *system_clock(), options(tw, 1));
  ASSERT_TRUE(wait_until([&] {
    sup.tick();
    return store->get_job(1)->state == "leased";
  }));
  const pid_t frozen = sup.children().at(0).pid;
  ::kill(frozen, SIGSTOP);  // no heartbeat, no progress, still alive
  ASSERT_TRUE(wait_until([&] {
    sup.tick();
    return store->get_run(1)->state != "running";
  }));
  EXPECT_EQ(store->get_run(1)->state, "succeeded");
  auto attempts = store->attempts(1);
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_TRUE(attempts[0].outcome == "crashed" || attempts[0].outcome == "lease_expired")
      << attempts[0].outcome;
  EXPECT_EQ(attempts[0].pid, frozen);
  EXPECT_NE(attempts[1].pid, frozen);
  EXPECT_EQ(attempts[1].outcome, "succeeded");
  for (const ChildInfo& c : sup.children()) EXPECT_NE(c.pid, frozen);
}

TEST(Supervisor, SigtermDrainsAndTheRunCanBeTakenUpAgain) {
  TempWorkspace tw(fast_config());
  auto spec = tw.write_file("d.yaml",
                            "version: 1\nname: drain\nstages:\n  - id: a\n    kind: sleep\n"
                            "    matrix: {i: " +
                                range_list(12) + "}\n    with: {ms: 400, output: true}\n");
  const std::vector<std::string> args{"-w", tw.dir().string(), "run",    spec.string(), "--key",
                                      "k",  "--workers",       "sleep=2"};
  auto store = tw.store();
  {
    BackgroundProc run(args, (tw.dir() / "run.log").string());
    ASSERT_TRUE(wait_until([&] { return store->get_run(1) && !store->leased_jobs().empty(); }));
    run.signal(SIGTERM);
    EXPECT_EQ(run.wait(), 1);  // interrupted: the run is not finished
  }
  EXPECT_EQ(store->get_run(1)->state, "running");
  EXPECT_TRUE(store->leased_jobs().empty());  // finished or released, none left hanging
  for (const AttemptRow& a : store->all_attempts(1)) {
    EXPECT_TRUE(a.outcome == "succeeded" || a.outcome == "released") << a.outcome;
  }
  ProcResult again = run_atelier(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(store->get_run(1)->state, "succeeded");
  EXPECT_EQ(store->asset_shas().size(), 12u);
}
