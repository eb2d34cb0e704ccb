// The scheduler on an injected clock over a real SQLite workspace: one fire per
// scheduled instant (across ticks, restarts, two schedulers and two processes),
// DST nights in a real zone, missed fires under both policies, and a broken
// schedule that does not stop the others. Assertions are on recorded rows
// (runs, schedule_fires, the audit log), never on elapsed time.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <date/date.h>

#include "common/errors.h"
#include "orchestrator/scheduler.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

// Unix ms of a UTC wall time.
int64_t utc(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  using namespace std::chrono;
  const auto day = date::sys_days{date::year{y} / mo / d};
  return duration_cast<milliseconds>((day + hours{h} + minutes{mi} + seconds{s}).time_since_epoch())
      .count();
}

// Submits a small run per fire; a schedule whose spec path is "missing.yaml"
// fails as an unreadable spec would.
SubmitSchedule submitter(Store& store) {
  return [&store](const ScheduleRow& s, const std::string& key) {
    if (s.spec_path == "missing.yaml") throw InputError("missing.yaml: no such file");
    NewRun r = simple_run("nightly-" + s.name, 1, "sleep", key);
    const SubmitResult res = store.submit_run(r);
    return ScheduledSubmit{res.run_id, res.existing};
  };
}

ScheduleRow schedule(const std::string& name, const std::string& cron, const std::string& tz,
                     int64_t created_at, const std::string& missed = "skip") {
  ScheduleRow s;
  s.name = name;
  s.cron = cron;
  s.timezone = tz;
  s.spec_path = name + ".yaml";
  s.missed = missed;
  s.created_at = created_at;
  s.created_by = "tester";
  return s;
}

std::vector<ScheduleFire> fires(Store& store, const std::string& name) {
  auto f = store.schedule_fires(name, 1000);
  std::reverse(f.begin(), f.end());  // oldest first
  return f;
}

int count_events(Store& store, const std::string& action) {
  int n = 0;
  for (const EventRow& e : store.recent_events(100000)) n += e.action == action;
  return n;
}

int64_t runs_in(Store& store) {
  int64_t n = 0;
  while (store.get_run(n + 1)) ++n;
  return n;
}

}  // namespace

struct SchedulerTest : StoreTest {};

TEST_P(SchedulerTest, FiresOncePerScheduledTimeAndRecordsTheRun) {
  TempWorkspace tw{"", GetParam()};
  auto clock = std::make_shared<ManualClock>(utc(2026, 12, 3, 0, 5));
  auto store = tw.store(clock);
  store->add_schedule(schedule("q", "*/15 * * * *", "UTC", clock->now_ms()));
  Scheduler sched(*store, *clock, submitter(*store));
  EXPECT_EQ(sched.tick(), 0);  // a new schedule learns its first fire time
  EXPECT_EQ(*store->get_schedule("q")->next_fire_at, utc(2026, 12, 3, 0, 15));
  clock->set(utc(2026, 12, 3, 0, 14, 59));
  EXPECT_EQ(sched.tick(), 0);
  clock->set(utc(2026, 12, 3, 0, 15, 1));
  EXPECT_EQ(sched.tick(), 1);
  EXPECT_EQ(sched.tick(), 0);  // the same instant again: nothing
  clock->set(utc(2026, 12, 3, 0, 30, 0));
  EXPECT_EQ(sched.tick(), 1);
  const auto f = fires(*store, "q");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].fire_at, utc(2026, 12, 3, 0, 15));
  EXPECT_EQ(f[0].outcome, "submitted");
  EXPECT_EQ(*f[0].run_id, 1);
  EXPECT_EQ(f[1].fire_at, utc(2026, 12, 3, 0, 30));
  EXPECT_EQ(store->get_run(1)->idem_key.value_or(""), "schedule:q@2026-12-03T00:15:00Z");
  EXPECT_EQ(count_events(*store, "schedule.fire"), 2);
  const auto s = store->get_schedule("q");
  EXPECT_EQ(*s->next_fire_at, utc(2026, 12, 3, 0, 45));
  EXPECT_EQ(*s->last_fire_at, utc(2026, 12, 3, 0, 30));

  // A restarted scheduler at the same instant, and one whose process died after
  // submitting but before recording: no second run either way.
  Scheduler restarted(*store, *clock, submitter(*store));
  EXPECT_EQ(restarted.tick(), 0);
  clock->set(utc(2026, 12, 3, 0, 45, 2));
  submitter (*store)(*s, fire_key("q", utc(2026, 12, 3, 0, 45)));  // the run made before the crash
  EXPECT_EQ(restarted.tick(), 0) << "the key names the existing run";
  EXPECT_EQ(runs_in(*store), 3);
  EXPECT_EQ(fires(*store, "q").back().run_id.value_or(0), 3);
}

TEST_P(SchedulerTest, TwoSchedulersOnOneWorkspaceFireOnce) {
  TempWorkspace tw{"", GetParam()};
  auto clock = std::make_shared<ManualClock>(utc(2026, 12, 3, 1, 0));
  auto a = tw.store(clock);
  auto b = tw.store(clock);
  a->add_schedule(schedule("nightly", "0 2 * * *", "UTC", clock->now_ms()));
  Scheduler sa(*a, *clock, submitter(*a)), sb(*b, *clock, submitter(*b));
  sa.tick();
  sb.tick();
  clock->set(utc(2026, 12, 3, 2, 0, 3));
  EXPECT_EQ(sa.tick() + sb.tick(), 1);
  EXPECT_EQ(runs_in(*a), 1);
  EXPECT_EQ(fires(*a, "nightly").size(), 1u);
  EXPECT_EQ(count_events(*a, "schedule.fire"), 1);
}

TEST_P(SchedulerTest, TwoProcessesAtTheSameInstantFireOnce) {
  TempWorkspace tw{"", GetParam()};
  const int64_t before = utc(2026, 12, 3, 1, 59);
  {
    auto clock = std::make_shared<ManualClock>(before);
    auto store = tw.store(clock);
    store->add_schedule(schedule("nightly", "0 2 * * *", "UTC", before));
    Scheduler(*store, *clock, submitter(*store)).tick();
  }
  // Each child opens its own connection after the fork and waits for the
  // parent's go, so both tick the same due fire as close together as they can.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      if (::read(go[0], &c, 1) != 1) ::_exit(3);
      try {
        auto clock = std::make_shared<ManualClock>(utc(2026, 12, 3, 2, 0, 1));
        auto store = tw.store(clock);
        Scheduler(*store, *clock, submitter(*store)).tick();
      } catch (...) {
        ::_exit(2);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  ::close(go[0]);
  ASSERT_EQ(::write(go[1], "gg", 2), 2);
  ::close(go[1]);
  for (pid_t p : kids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = tw.store();
  EXPECT_EQ(runs_in(*store), 1);
  ASSERT_EQ(fires(*store, "nightly").size(), 1u);
  EXPECT_EQ(fires(*store, "nightly")[0].outcome, "submitted");
  EXPECT_EQ(count_events(*store, "schedule.fire"), 1);
  EXPECT_EQ(*store->get_schedule("nightly")->next_fire_at, utc(2026, 12, 4, 2, 0));
}

TEST_P(SchedulerTest, DstNightsInBerlinFireOnceAtTheDocumentedInstants) {
  TempWorkspace tw{"", GetParam()};
  // Ten-minute ticks across the spring-forward night (2026-03-29: 02:00 CET
  // becomes 03:00 CEST) and the fall-back night (2026-10-25: 03:00 CEST becomes
  // 02:00 CET, so 02:30 happens twice).
  auto clock = std::make_shared<ManualClock>(utc(2026, 3, 27, 12, 0));
  auto store = tw.store(clock);
  store->add_schedule(schedule("berlin", "30 2 * * *", "Europe/Berlin", clock->now_ms()));
  store->add_schedule(schedule("halfhour", "*/30 1-3 25 10 *", "Europe/Berlin", clock->now_ms()));
  Scheduler sched(*store, *clock, submitter(*store));
  auto run_until = [&](int64_t end) {
    for (; clock->now_ms() <= end; clock->advance(10 * 60'000)) sched.tick();
  };
  run_until(utc(2026, 3, 31, 12, 0));
  std::vector<int64_t> at;
  for (const ScheduleFire& f : fires(*store, "berlin")) at.push_back(f.fire_at);
  // 02:30 CET on the 28th; on the 29th 02:30 does not exist: 03:00 CEST; then 02:30 CEST.
  EXPECT_EQ(at, (std::vector<int64_t>{utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0),
                                      utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)}));

  clock->set(utc(2026, 10, 23, 12, 0));
  // The schedule's next fire is the one after 31 March; it was missed (policy
  // skip), recorded once, and the next fire from now on is kept.
  sched.tick();
  run_until(utc(2026, 10, 26, 12, 0));
  at.clear();
  for (const ScheduleFire& f : fires(*store, "berlin"))
    if (f.outcome == "submitted" && f.fire_at > utc(2026, 10, 1, 0, 0)) at.push_back(f.fire_at);
  // 02:30 CEST on the 24th and once (the first 02:30, CEST) on the 25th, then 02:30 CET.
  EXPECT_EQ(at, (std::vector<int64_t>{utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30),
                                      utc(2026, 10, 26, 1, 30)}));
  at.clear();
  for (const ScheduleFire& f : fires(*store, "halfhour"))
    if (f.outcome == "submitted") at.push_back(f.fire_at);
  // 01:00 01:30 02:00 02:30 CEST, then in CET only the times not seen yet: 03:00 03:30.
  EXPECT_EQ(at, (std::vector<int64_t>{utc(2026, 10, 24, 23, 0), utc(2026, 10, 24, 23, 30),
                                      utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30),
                                      utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 30)}));
}

TEST_P(SchedulerTest, MissedFiresAreSkippedOrCaughtUpOnceByPolicy) {
  TempWorkspace tw{"", GetParam()};
  auto clock = std::make_shared<ManualClock>(utc(2026, 12, 3, 0, 30));
  auto store = tw.store(clock);
  store->add_schedule(schedule("skipper", "0 * * * *", "UTC", clock->now_ms(), "skip"));
  store->add_schedule(schedule("catcher", "0 * * * *", "UTC", clock->now_ms(), "catch-up"));
  Scheduler sched(*store, *clock, submitter(*store));
  sched.tick();
  clock->set(utc(2026, 12, 3, 1, 0, 2));
  EXPECT_EQ(sched.tick(), 2);  // both on time at 01:00
  // No scheduler runs from 01:00 to 05:20: 02:00, 03:00, 04:00 and 05:00 pass.
  clock->set(utc(2026, 12, 3, 5, 20));
  EXPECT_EQ(sched.tick(), 1) << "only the catch-up schedule submits, once";
  EXPECT_EQ(runs_in(*store), 3);

  const auto skipped = fires(*store, "skipper");
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[1].fire_at, utc(2026, 12, 3, 2, 0));
  EXPECT_EQ(skipped[1].outcome, "skipped");
  EXPECT_NE(skipped[1].detail.find("3 fire time(s)"), std::string::npos) << skipped[1].detail;
  EXPECT_EQ(skipped[2].fire_at, utc(2026, 12, 3, 5, 0));
  EXPECT_EQ(skipped[2].outcome, "skipped");

  const auto caught = fires(*store, "catcher");
  ASSERT_EQ(caught.size(), 3u);
  EXPECT_EQ(caught[1].outcome, "skipped");  // 02:00-04:00 stand behind the one run
  EXPECT_EQ(caught[2].fire_at, utc(2026, 12, 3, 5, 0));
  EXPECT_EQ(caught[2].outcome, "submitted");
  EXPECT_NE(caught[2].detail.find("catch-up"), std::string::npos);
  EXPECT_EQ(store->get_run(*caught[2].run_id)->idem_key.value_or(""),
            "schedule:catcher@2026-12-03T05:00:00Z");
  for (const char* name : {"skipper", "catcher"})
    EXPECT_EQ(*store->get_schedule(name)->next_fire_at, utc(2026, 12, 3, 6, 0)) << name;
  EXPECT_EQ(count_events(*store, "schedule.skip"), 3);
}

TEST_P(SchedulerTest, AFailingScheduleIsRecordedAndTheOthersFire) {
  TempWorkspace tw{"", GetParam()};
  auto clock = std::make_shared<ManualClock>(utc(2026, 12, 3, 1, 0));
  auto store = tw.store(clock);
  ScheduleRow broken = schedule("broken", "0 2 * * *", "UTC", clock->now_ms());
  broken.spec_path = "missing.yaml";
  store->add_schedule(broken);
  store->add_schedule(schedule("fine", "0 2 * * *", "UTC", clock->now_ms()));
  ScheduleRow off = schedule("off", "0 2 * * *", "UTC", clock->now_ms());
  off.enabled = false;
  store->add_schedule(off);
  Scheduler sched(*store, *clock, submitter(*store));
  sched.tick();
  clock->set(utc(2026, 12, 3, 2, 0, 5));
  EXPECT_EQ(sched.tick(), 1);
  const auto f = fires(*store, "broken");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].outcome, "failed");
  EXPECT_NE(f[0].detail.find("missing.yaml"), std::string::npos);
  EXPECT_EQ(*store->get_schedule("broken")->next_fire_at, utc(2026, 12, 4, 2, 0));
  EXPECT_EQ(fires(*store, "fine").at(0).outcome, "submitted");
  EXPECT_TRUE(fires(*store, "off").empty());
  EXPECT_EQ(count_events(*store, "schedule.fail"), 1);
}

TEST_P(SchedulerTest, ValidationNamesTheField) {
  ScheduleRow s = schedule("x", "0 2 * * *", "UTC", 0);
  EXPECT_NO_THROW(validate_schedule(s, utc(2026, 1, 1, 0, 0)));
  auto message = [&](ScheduleRow r) {
    try {
      validate_schedule(r, utc(2026, 1, 1, 0, 0));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ScheduleRow bad = s;
  bad.timezone = "Mars/Base";
  EXPECT_NE(message(bad).find("Mars/Base"), std::string::npos);
  bad = s;
  bad.cron = "0 25 * * *";
  EXPECT_NE(message(bad).find("hour"), std::string::npos);
  bad = s;
  bad.missed = "sometimes";
  EXPECT_NE(message(bad).find("missed"), std::string::npos);
  bad = s;
  bad.name = "has space";
  EXPECT_NE(message(bad).find("name"), std::string::npos);
  bad = s;
  bad.cron = "0 0 30 2 *";
  EXPECT_NE(message(bad).find("never fires"), std::string::npos);
}

INSTANTIATE_STORE_SUITE(SchedulerTest);
