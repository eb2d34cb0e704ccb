// `atelier schedule`, `token` and `audit` through the real binary: errors name
// the field, the spec is validated when the schedule is added, run-now submits
// with its own key, tokens print their secret once, and `audit verify` finds an
// edited entry and (with --expect-head) entries removed from the end.
#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {
const char* kSpec =
    "version: 1\nname: nightly\nparams: {n: 1}\nstages:\n  - id: a\n    kind: sleep\n"
    "    with: {ms: 1}\n";
}

TEST(DaemonCli, SchedulesAreValidatedListedRunNowAndRemoved) {
  TempWorkspace tw;
  const std::string w = tw.dir().string();
  const std::string spec = tw.write_file("nightly.yaml", kSpec).string();

  ProcResult r = run_atelier({"-w", w, "schedule", "add", "nightly", spec, "--cron", "0 25 * * *"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("hour: 25 is out of range 0-23"), std::string::npos) << r.err;
  r = run_atelier(
      {"-w", w, "schedule", "add", "nightly", spec, "--cron", "0 2 * * *", "--tz", "Mars/Base"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Mars/Base"), std::string::npos) << r.err;
  r = run_atelier({"-w", w, "schedule", "add", "nightly", (tw.dir() / "none.yaml").string(),
                   "--cron", "0 2 * * *"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("none.yaml"), std::string::npos) << r.err;
  r = run_atelier(
      {"-w", w, "schedule", "add", "nightly", spec, "--cron", "0 2 * * *", "--missed", "often"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missed"), std::string::npos) << r.err;

  r = run_atelier({"-w", w, "--json", "schedule", "add", "nightly", spec, "--cron", "30 2 * * 1-5",
                   "--tz", "Europe/Berlin", "--missed", "catch-up", "--set", "n=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(parse_out(r).contains("first_fire_at"));
  r = run_atelier({"-w", w, "schedule", "add", "nightly", spec, "--cron", "0 3 * * *"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exists already"), std::string::npos);

  r = run_atelier({"-w", w, "--json", "schedule", "run-now", "nightly"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_out(r)["run"], "r1");
  auto store = tw.store();
  const auto run = store->get_run(1);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->params["n"], 3) << run->params.dump();
  EXPECT_EQ(run->idem_key.value_or("").rfind("schedule:nightly@run-now:", 0), 0u);
  EXPECT_EQ(run->submitter, "schedule:nightly");

  r = run_atelier({"-w", w, "--json", "schedule", "list"});
  ASSERT_EQ(r.exit_code, 0);
  const json list = parse_out(r);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["cron"], "30 2 * * 1-5");
  EXPECT_EQ(list[0]["timezone"], "Europe/Berlin");
  EXPECT_EQ(list[0]["missed"], "catch-up");
  EXPECT_EQ(list[0]["last"]["run"], "r1");
  r = run_atelier({"-w", w, "schedule", "list"});
  EXPECT_NE(r.out.find("nightly"), std::string::npos);
  EXPECT_NE(r.out.find("submitted r1"), std::string::npos) << r.out;

  EXPECT_EQ(run_atelier({"-w", w, "schedule", "rm", "nightly"}).exit_code, 0);
  EXPECT_EQ(run_atelier({"-w", w, "schedule", "rm", "nightly"}).exit_code, 2);
  EXPECT_EQ(run_atelier({"-w", w, "schedule", "run-now", "nightly"}).exit_code, 2);
  int adds = 0;
  for (const EventRow& e : store->recent_events(100)) adds += e.action.rfind("schedule.", 0) == 0;
  EXPECT_EQ(adds, 3);  // add, run-now, rm
}

TEST(DaemonCli, TokensAndTheAuditChain) {
  TempWorkspace tw;
  const std::string w = tw.dir().string();
  ProcResult r =
      run_atelier({"-w", w, "--json", "token", "create", "--role", "admin", "--name", "ci"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string secret = parse_out(r)["token"];
  EXPECT_EQ(secret.size(), 47u);
  r = run_atelier({"-w", w, "token", "create", "--role", "root"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("admin or viewer"), std::string::npos);
  r = run_atelier({"-w", w, "--json", "token", "list"});
  EXPECT_EQ(r.out.find(secret), std::string::npos) << "the secret is never listed";
  EXPECT_EQ(parse_out(r)[0]["role"], "admin");
  EXPECT_EQ(run_atelier({"-w", w, "token", "revoke", "1"}).exit_code, 0);
  EXPECT_EQ(run_atelier({"-w", w, "token", "revoke", "1"}).exit_code, 2);
  for (const char* k : {"sleep", "video"}) run_atelier({"-w", w, "pause", k});

  r = run_atelier({"-w", w, "--json", "audit", "verify"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json ok = parse_out(r);
  EXPECT_TRUE(ok["valid"].get<bool>());
  EXPECT_GE(ok["entries"].get<int>(), 4);
  const std::string head = ok["head"];
  r = run_atelier({"-w", w, "audit", "--limit", "2"});
  EXPECT_NE(r.out.find("pause"), std::string::npos) << r.out;

  SQLite::Database db((tw.dir() / "atelier.db").string(), SQLite::OPEN_READWRITE);
  const int64_t id =
      db.execAndGet("SELECT id FROM events WHERE action = 'token.revoke'").getInt64();
  db.exec("UPDATE events SET actor = 'someone-else' WHERE id = " + std::to_string(id));
  r = run_atelier({"-w", w, "audit", "verify"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("entry " + std::to_string(id) + ": edited"), std::string::npos) << r.out;
  db.exec(
      "UPDATE events SET actor = (SELECT actor FROM events WHERE action = 'token.create') "
      "WHERE id = " +
      std::to_string(id));
  EXPECT_EQ(run_atelier({"-w", w, "audit", "verify"}).exit_code, 0);

  // The last entry removed: the chain that is left is whole, but not the head an
  // auditor kept.
  db.exec("DELETE FROM events WHERE id = (SELECT MAX(id) FROM events)");
  EXPECT_EQ(run_atelier({"-w", w, "audit", "verify"}).exit_code, 0);
  r = run_atelier({"-w", w, "audit", "verify", "--expect-head", head});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("removed"), std::string::npos) << r.out;
  EXPECT_EQ(run_atelier({"-w", w, "audit", "verify", "--expect-head", "x"}).exit_code, 2);
}
