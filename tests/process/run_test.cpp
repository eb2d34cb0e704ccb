// `atelier run` end to end with real worker processes: retries, crashes,
// outputs, and a job that outlives many lease lengths by heartbeating.
#include <gtest/gtest.h>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

TEST(Run, TwoHundredJobsWithFailuresAndCrashesSucceedWithExpectedAttempts) {
  TempWorkspace tw(fast_config());
  auto spec = tw.write_file("spec.yaml", R"(version: 1
name: two-hundred
stages:
  - id: plain
    kind: sleep
    matrix: {i: )" + range_list(99) + R"(}
    with: {ms: 5, output: true}
  - id: flaky
    kind: sleep
    matrix: {i: )" + range_list(50) + R"(}
    with: {ms: 5, fail_times: 2, output: true}
  - id: crashy
    kind: sleep
    matrix: {i: )" + range_list(50) + R"(}
    with: {ms: 5, crash_times: 1, output: true}
  - id: final
    kind: sleep
    needs: [plain, flaky, crashy]
    with: {output: true}
)");
  ProcResult r =
      run_atelier({"-w", tw.dir().string(), "run", spec.string(), "--workers", "sleep=4"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("r1 succeeded"), std::string::npos) << r.out;

  auto store = tw.store();
  EXPECT_EQ(store->get_run(1)->state, "succeeded");
  auto jobs = store->list_jobs({.run_id = 1});
  ASSERT_EQ(jobs.size(), 200u);
  auto outcomes = outcomes_by_job(*store, 1);
  auto assets = assets_per_job(*store, 1);
  for (const JobRow& j : jobs) {
    EXPECT_EQ(j.state, "succeeded") << "j" << j.id;
    std::vector<std::string> expected{"succeeded"};
    if (j.stage == "flaky") expected = {"failed", "failed", "succeeded"};
    if (j.stage == "crashy") expected = {"crashed", "succeeded"};
    EXPECT_EQ(outcomes[j.id], expected) << "j" << j.id << " (" << j.stage << ")";
    EXPECT_EQ(assets[j.id], 1) << "j" << j.id;
  }
  EXPECT_EQ(store->asset_shas().size(), 200u);
  EXPECT_EQ(files_under(tw.ws().assets_dir()), 200u);
  EXPECT_EQ(store->integrity_check(), "ok");
}

TEST(Run, AHeartbeatingJobKeepsItsLeaseOverManyLeaseLengths) {
  TempWorkspace tw(fast_config() + "lease_ms: 200\n");
  auto spec = tw.write_file(
      "long.yaml",
      "version: 1\nname: long\nstages:\n  - id: long\n    kind: sleep\n    with: {ms: 2500}\n");
  ProcResult r = run_atelier({"-w", tw.dir().string(), "run", spec.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto store = tw.store();
  JobRow j = *store->get_job(1);
  EXPECT_EQ(j.state, "succeeded");
  EXPECT_EQ(j.attempt, 1);
  auto attempts = store->attempts(1);
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].outcome, "succeeded");
  // The job really did span many lease lengths (a fact about the rows, not a timing bound).
  EXPECT_GE(*attempts[0].ended_at - attempts[0].started_at, 10 * 200);
}

TEST(Run, StatusAssetsAndLogsDescribeTheRun) {
  TempWorkspace tw(fast_config());
  auto spec =
      tw.write_file("s.yaml",
                    "version: 1\nname: small\nstages:\n  - id: a\n    kind: sleep\n"
                    "    matrix: {i: [1, 2]}\n    with: {ms: 1, output: true, fail_times: 1}\n");
  const std::string w = tw.dir().string();
  ASSERT_EQ(run_atelier({"-w", w, "run", spec.string(), "--json"}).exit_code, 0);
  ProcResult st = run_atelier({"-w", w, "status", "r1", "--json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  json s = json::parse(st.out);
  EXPECT_EQ(s["run"], "r1");
  EXPECT_EQ(s["state"], "succeeded");
  EXPECT_EQ(s["jobs"]["succeeded"], 2);
  EXPECT_EQ(s["stages"]["a"]["succeeded"], 2);

  json assets = json::parse(run_atelier({"-w", w, "assets", "--run", "r1", "--json"}).out);
  ASSERT_EQ(assets.size(), 2u);
  for (const json& a : assets) {
    EXPECT_EQ(a["media_type"], "text/plain");
    EXPECT_TRUE(std::filesystem::exists(a["path"].get<std::string>()));
    EXPECT_EQ(a["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(a["job"].get<std::string>()[0], 'j');
  }
  ProcResult logs = run_atelier({"-w", w, "logs", "j1"});
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.out.find("attempt 1"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("failing on purpose"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("attempt 2"), std::string::npos) << logs.out;

  json jobs = json::parse(run_atelier({"-w", w, "jobs", "--state", "succeeded", "--json"}).out);
  EXPECT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["attempt"], 2);
}
