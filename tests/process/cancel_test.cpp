// Cancel stops a running job cooperatively, or by signal after the grace,
// and skips its dependents.
#include <gtest/gtest.h>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {
void cancel_while_running(TempWorkspace& tw, const std::string& with,
                          const std::string& expect_error) {
  auto spec = tw.write_file(
      "c.yaml", "version: 1\nname: cancel\nstages:\n  - id: long\n    kind: sleep\n    with: " +
                    with + "\n  - id: after\n    kind: sleep\n    needs: long\n");
  const std::string w = tw.dir().string();
  auto store = tw.store();
  BackgroundProc run({"-w", w, "run", spec.string()}, (tw.dir() / "run.log").string());
  ASSERT_TRUE(wait_until([&] {
    auto j = store->get_job(1);
    return j && j->state == "leased";
  }));
  ProcResult c = run_atelier({"-w", w, "cancel", "j1"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(run.wait(), 1);  // the run ended cancelled
  EXPECT_EQ(store->get_run(1)->state, "cancelled");
  EXPECT_EQ(store->get_job(1)->state, "cancelled");
  EXPECT_EQ(store->get_job(2)->state, "skipped");
  auto attempts = store->attempts(1);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "cancelled");
  EXPECT_NE(attempts[0].error->find(expect_error), std::string::npos) << *attempts[0].error;
  auto events = store->recent_events(10);
  bool audited = false;
  for (const EventRow& e : events) audited = audited || (e.action == "cancel" && e.target == "j1");
  EXPECT_TRUE(audited);
}
}  // namespace

TEST(Cancel, ARunningJobStopsCooperatively) {
  TempWorkspace tw(fast_config());
  cancel_while_running(tw, "{ms: 60000}", "cancelled");
}

TEST(Cancel, AJobIgnoringCancelIsStoppedBySignalAfterTheGrace) {
  TempWorkspace tw(fast_config());
  cancel_while_running(tw, "{ms: 60000, ignore_cancel: true}", "killed by signal");
}

TEST(Timeout, AJobPastItsStageTimeoutStopsAndCountsAsAFailedAttempt) {
  TempWorkspace tw(fast_config());
  auto spec = tw.write_file("t.yaml",
                            "version: 1\nname: t\nstages:\n  - id: slow\n    kind: sleep\n"
                            "    timeout: 300ms\n    retries: 1\n    with: {ms: 60000}\n");
  ProcResult r = run_atelier({"-w", tw.dir().string(), "run", spec.string()});
  EXPECT_EQ(r.exit_code, 1);
  auto store = tw.store();
  EXPECT_EQ(store->get_job(1)->state, "dead");
  auto attempts = store->attempts(1);
  ASSERT_EQ(attempts.size(), 2u);
  for (const AttemptRow& a : attempts) {
    EXPECT_EQ(a.outcome, "timeout");
    EXPECT_NE(a.error->find("timed out after 300 ms"), std::string::npos) << *a.error;
  }
}
