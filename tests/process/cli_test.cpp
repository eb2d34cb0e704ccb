// The CLI contract: exit codes, messages that name the file and position,
// idempotent submission, and many processes on one database at once.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {
const char* kSpec = "version: 1\nname: s\nstages:\n  - id: a\n    kind: sleep\n    with: {ms: 1}\n";
}

TEST(Cli, BadInputGivesExitTwoAndOneClearMessage) {
  TempWorkspace tw;
  const std::string w = tw.dir().string();
  ProcResult missing = run_atelier({"-w", w, "submit", "/no/such/spec.yaml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, "atelier: /no/such/spec.yaml: spec file not found\n");

  auto bad_yaml =
      tw.write_file("bad.yaml", "version: 1\nname: x\nstages:\n  - id: a\n    kind: [sleep\n");
  ProcResult y = run_atelier({"-w", w, "validate", bad_yaml.string()});
  EXPECT_EQ(y.exit_code, 2);
  EXPECT_NE(y.err.find(bad_yaml.string() + ":5:11: "), std::string::npos) << y.err;
  EXPECT_NE(y.err.find("never closed"), std::string::npos) << y.err;

  auto unknown = tw.write_file("unknown.yaml",
                               "version: 1\nname: x\nstages:\n  - id: a\n    kind: teleport\n");
  ProcResult u = run_atelier({"-w", w, "submit", unknown.string()});
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.err.find(unknown.string() + ":5:11: stage 'a': unknown kind 'teleport'"),
            std::string::npos)
      << u.err;
  EXPECT_TRUE(tw.store()->list_jobs({}).empty());  // nothing was enqueued

  ProcResult nows = run_atelier({"-w", "/no/such/workspace", "status"});
  EXPECT_EQ(nows.exit_code, 2);
  EXPECT_NE(nows.err.find("/no/such/workspace: workspace folder does not exist"), std::string::npos)
      << nows.err;

  ProcResult usage = run_atelier({"frobnicate"});
  EXPECT_EQ(usage.exit_code, 2);
  ProcResult noid = run_atelier({"-w", w, "cancel", "x7"});
  EXPECT_EQ(noid.exit_code, 2);
  EXPECT_NE(noid.err.find("'x7'"), std::string::npos);
  EXPECT_EQ(run_atelier({"-w", w, "status", "r99"}).exit_code, 2);
}

TEST(Cli, ANonDatabaseFileAsTheJobDatabaseIsNamed) {
  TempWorkspace tw;
  auto notdb = tw.write_file("notes.txt", std::string(4096, 'x'));
  std::ofstream(tw.dir() / "atelier.yaml") << "store: sqlite:notes.txt\n";
  ProcResult r = run_atelier({"-w", tw.dir().string(), "status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(notdb.string() + ": not an Atelier database"), std::string::npos) << r.err;
}

TEST(Cli, IdempotencyKeyReturnsTheSameRunAndRefusesAnotherSpec) {
  TempWorkspace tw;
  const std::string w = tw.dir().string();
  auto spec = tw.write_file("s.yaml", kSpec);
  ProcResult a = run_atelier({"-w", w, "submit", spec.string(), "--key", "nightly-2026-11-29"});
  ProcResult b = run_atelier({"-w", w, "submit", spec.string(), "--key", "nightly-2026-11-29"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "r1\n");
  EXPECT_EQ(b.out, "r1\n");
  auto other = tw.write_file("other.yaml", std::string(kSpec) + "    priority: 3\n");
  ProcResult c = run_atelier({"-w", w, "submit", other.string(), "--key", "nightly-2026-11-29"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("already used by run r1 with a different spec"), std::string::npos) << c.err;
  auto events = tw.store()->recent_events(10);
  int submits = 0;
  for (const EventRow& e : events) submits += e.action == "submit";
  EXPECT_EQ(submits, 1);
}

TEST(Cli, AFailedRunExitsOne) {
  TempWorkspace tw(fast_config());
  auto spec =
      tw.write_file("f.yaml",
                    "version: 1\nname: f\nstages:\n  - id: a\n    kind: sleep\n    retries: 1\n"
                    "    with: {fail_times: 5}\n  - id: b\n    kind: sleep\n    needs: a\n");
  ProcResult r = run_atelier({"-w", tw.dir().string(), "run", spec.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("r1 failed"), std::string::npos) << r.out;
  EXPECT_EQ(run_atelier({"-w", tw.dir().string(), "status"}).exit_code, 1);
  auto store = tw.store();
  EXPECT_EQ(store->get_job(1)->state, "dead");
  EXPECT_EQ(store->get_job(2)->state, "skipped");
  EXPECT_EQ(store->attempts(1).size(), 2u);
}

TEST(Cli, EightProcessesSubmittingAndClaimingSeeNoBusyErrors) {
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  auto spec = tw.write_file("m.yaml",
                            "version: 1\nname: many\nstages:\n  - id: a\n    kind: sleep\n"
                            "    matrix: {i: " +
                                range_list(25) + "}\n    with: {ms: 0, output: true}\n");
  std::vector<std::unique_ptr<BackgroundProc>> workers;
  for (int i = 0; i < 4; ++i) {
    workers.push_back(std::make_unique<BackgroundProc>(
        std::vector<std::string>{"-w", w, "worker", "--kinds", "sleep"},
        (tw.dir() / ("w" + std::to_string(i) + ".log")).string()));
  }
  std::vector<ProcResult> results(4 * 10);
  std::vector<std::thread> submitters;
  for (int s = 0; s < 4; ++s) {
    submitters.emplace_back([&, s] {
      for (int k = 0; k < 10; ++k)
        results[s * 10 + k] = run_atelier({"-w", w, "submit", spec.string()});
    });
  }
  for (auto& t : submitters) t.join();
  for (const ProcResult& r : results) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("locked"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("busy"), std::string::npos) << r.err;
  }
  auto store = tw.store();
  ASSERT_TRUE(wait_until([&] {
    for (int64_t run = 1; run <= 40; ++run)
      if (!store->get_run(run) || store->get_run(run)->state != "succeeded") return false;
    return true;
  }));
  for (auto& p : workers) {
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
  }
  for (int i = 0; i < 4; ++i) {
    std::ifstream in(tw.dir() / ("w" + std::to_string(i) + ".log"));
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text.find("locked"), std::string::npos) << text;
    EXPECT_EQ(text.find("error"), std::string::npos) << text;
  }
  EXPECT_EQ(store->list_jobs({.limit = 5000}).size(), 1000u);
  EXPECT_EQ(store->all_attempts(std::nullopt).size(), 1000u);
  EXPECT_EQ(store->integrity_check(), "ok");
}
