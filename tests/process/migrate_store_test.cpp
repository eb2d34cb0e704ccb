// `atelier migrate-store`: a SQLite workspace with history (a finished run
// with lineage, a failed job's attempts, checks of the audit chain, a
// schedule, a token) moved to PostgreSQL keeps every row and every asset, and
// goes on working there: the next run's ids follow the old ones.
#include <gtest/gtest.h>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

TEST(MigrateStore, MovesHistoryAndAssetsToPostgresAndGoesOnThere) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  auto spec = tw.write_file("hist.yaml", R"(version: 1
name: history
stages:
  - id: make
    kind: sleep
    matrix: {i: [1, 2, 3, 4]}
    with: {ms: 5, output: true}
  - id: flaky
    kind: sleep
    needs: make
    with: {ms: 5, output: true, fail_times: 1}
)");
  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "sleep=2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(run_atelier({"-w", w, "token", "create", "--role", "viewer", "--name", "ci"}).exit_code,
            0);
  ASSERT_EQ(
      run_atelier({"-w", w, "schedule", "add", "nightly", spec.string(), "--cron", "0 2 * * *"})
          .exit_code,
      0);

  std::vector<JobRow> jobs_before;
  std::vector<AttemptRow> attempts_before;
  std::vector<std::string> shas_before;
  std::vector<EventRow> events_before;
  {
    auto s = tw.store();
    jobs_before = s->list_jobs({.run_id = 1});
    attempts_before = s->all_attempts(1);
    shas_before = s->asset_shas();
    events_before = s->recent_events(1000);
  }
  ASSERT_EQ(jobs_before.size(), 5u);
  ASSERT_EQ(attempts_before.size(), 6u);  // the flaky job failed once

  PgSchema target;
  ProcResult m = run_atelier({"-w", w, "--json", "migrate-store", "--to", target.url()});
  ASSERT_EQ(m.exit_code, 0) << m.out << m.err;
  const json report = json::parse(m.out);
  EXPECT_EQ(report["tables"]["jobs"], 5);
  EXPECT_EQ(report["tables"]["attempts"], 6);

  // The workspace now reads PostgreSQL: the same rows, ids and hashes.
  Workspace ws = Workspace::open(tw.dir());
  ASSERT_TRUE(ws.shared_store());
  auto s = ws.open_store();
  const auto jobs = s->list_jobs({.run_id = 1});
  ASSERT_EQ(jobs.size(), jobs_before.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(jobs[i].id, jobs_before[i].id);
    EXPECT_EQ(jobs[i].state, jobs_before[i].state);
    EXPECT_EQ(jobs[i].params, jobs_before[i].params);
    EXPECT_EQ(jobs[i].failures, jobs_before[i].failures);
    EXPECT_EQ(jobs[i].finished_at, jobs_before[i].finished_at);
  }
  const auto attempts = s->all_attempts(1);
  ASSERT_EQ(attempts.size(), attempts_before.size());
  for (size_t i = 0; i < attempts.size(); ++i) {
    EXPECT_EQ(attempts[i].outcome, attempts_before[i].outcome);
    EXPECT_EQ(attempts[i].error, attempts_before[i].error);
  }
  auto shas = s->asset_shas();
  std::sort(shas.begin(), shas.end());
  std::sort(shas_before.begin(), shas_before.end());
  EXPECT_EQ(shas, shas_before);
  for (const AssetRow& a : s->list_assets(1))  // the files are where they were
    EXPECT_TRUE(std::filesystem::exists(ws.asset_store().path_for(a.sha256, a.ext))) << a.sha256;
  // Lineage: the flaky job received the four outputs of `make`.
  EXPECT_EQ(s->job_inputs(jobs.back().id).size(), 4u);
  EXPECT_EQ(s->list_schedules().size(), 1u);
  EXPECT_EQ(s->list_tokens().size(), 1u);
  // The audit chain is intact, with the migration itself appended to it.
  ProcResult v = run_atelier({"-w", w, "audit", "verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(s->recent_events(1).at(0).action, "migrate-store");
  EXPECT_EQ(s->recent_events(1000).size(), events_before.size() + 1);

  // New work lands after the old ids.
  ProcResult again = run_atelier({"-w", w, "run", spec.string(), "--workers", "sleep=2"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  const auto jobs2 = s->list_jobs({.run_id = 2});
  ASSERT_EQ(jobs2.size(), 5u);
  EXPECT_EQ(jobs2.front().id, 6);
  EXPECT_EQ(s->get_run(2)->state, "succeeded");

  // A second migration into the same (now used) schema is refused by name.
  ProcResult twice = run_atelier({"-w", w, "migrate-store", "--to", target.url()});
  EXPECT_EQ(twice.exit_code, 2) << twice.out << twice.err;
  EXPECT_NE(twice.err.find("store already"), std::string::npos) << twice.err;
}
