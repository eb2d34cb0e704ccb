// A full disk end to end, with real worker processes writing into an asset
// store on a real full file system (a small tmpfs, filled with a file): jobs
// wait for space without spending attempts, `status --json` shows the full
// folder, and everything finishes once the file is removed. Mounting needs
// CAP_SYS_ADMIN; without it those cases are skipped and say why. Taking a run
// up with --key revives jobs that died of a full disk before (no mount needed).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

// A tmpfs of `size` at a fresh folder, unmounted (lazily, should a process
// still hold it) and removed afterwards.
class Tmpfs {
 public:
  explicit Tmpfs(const std::string& size) {
    dir_ = fs::temp_directory_path() /
           ("atelier-full-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    const std::string opts = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const fs::path& dir() const { return dir_; }

  // Writes a file until the file system refuses (ENOSPC); returns its path.
  fs::path fill() const {
    const fs::path f = dir_ / "filler";
    std::FILE* out = std::fopen(f.c_str(), "wb");
    EXPECT_NE(out, nullptr);
    if (!out) return f;
    std::string block(64 * 1024, 'x');
    while (std::fwrite(block.data(), 1, block.size(), out) == block.size() &&
           std::fflush(out) == 0) {
    }
    std::fclose(out);
    return f;
  }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

std::map<int64_t, int> disk_full_attempts(Store& store, int64_t run) {
  std::map<int64_t, int> n;
  for (const AttemptRow& a : store.all_attempts(run))
    if (a.outcome == "disk_full") ++n[a.job_id];
  return n;
}

std::string sleep_spec(int jobs) {
  return R"(version: 1
name: full
stages:
  - id: write
    kind: sleep
    matrix: {i: )" +
         range_list(jobs) + R"(}
    with: {output: true}
)";
}

}  // namespace

TEST(DiskFull, JobsWaitForSpaceWithoutSpendingAttemptsAndFinishWhenItReturns) {
  Tmpfs fs_full("4m");
  if (!fs_full.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs to fill (" << fs_full.error()
                 << "): needs root with CAP_SYS_ADMIN";
  const fs::path assets = fs_full.dir() / "assets";
  // max_attempts 5 (fast_config); a full disk retries after 10, 20, 40... ms.
  TempWorkspace tw(fast_config() + "assets: " + assets.string() +
                   "\ndisk_full: {retry_ms: 10, probe_ms: 50}\n");
  const fs::path filler = fs_full.fill();
  auto spec = tw.write_file("full.yaml", sleep_spec(200));
  const std::string w = tw.dir().string();
  BackgroundProc run({"-w", w, "run", spec.string(), "--workers", "sleep=2"},
                     (tw.dir() / "run.log").string());
  auto store = tw.store();
  // Every job meets the full disk more often than its attempts would allow.
  ASSERT_TRUE(wait_until([&] {
    if (!store->get_run(1)) return false;
    auto n = disk_full_attempts(*store, 1);
    if (n.size() < 200) return false;
    for (const auto& [job, count] : n)
      if (count < 5) return false;
    return true;
  })) << read_file_text(tw.dir() / "run.log");
  for (const JobRow& j : store->list_jobs({.run_id = 1})) {
    EXPECT_NE(j.state, "dead") << "j" << j.id << ": " << j.error.value_or("");
    EXPECT_EQ(j.failures, 0) << "j" << j.id;
  }
  EXPECT_EQ(store->get_run(1)->state, "running");
  ProcResult st = run_atelier({"-w", w, "status", "--json"});
  json s = parse_out(st);
  ASSERT_EQ(s["disk_full"].size(), 1u) << st.out;
  const std::string path = s["disk_full"][0]["path"];
  EXPECT_EQ(path.rfind(assets.string(), 0), 0u) << path;
  EXPECT_NE(s["disk_full"][0]["error"].get<std::string>().find("No space left on device"),
            std::string::npos);
  EXPECT_GE(s["waiting_for_space"].get<int>(), 1);
  ProcResult text = run_atelier({"-w", w, "status"});
  EXPECT_NE(text.out.find("disk full: " + path), std::string::npos) << text.out;

  fs::remove(filler);  // space is back
  ASSERT_TRUE(wait_until([&] { return !run.running(); })) << "the run did not finish";
  EXPECT_EQ(run.wait(), 0) << read_file_text(tw.dir() / "run.log");
  auto n = disk_full_attempts(*store, 1);
  auto outcomes = outcomes_by_job(*store, 1);
  for (const JobRow& j : store->list_jobs({.run_id = 1})) {
    EXPECT_EQ(j.state, "succeeded") << "j" << j.id;
    EXPECT_EQ(j.failures, 0) << "j" << j.id;
    ASSERT_FALSE(outcomes[j.id].empty());
    EXPECT_EQ(outcomes[j.id].back(), "succeeded") << "j" << j.id;
    EXPECT_EQ(outcomes[j.id].size(), static_cast<size_t>(n[j.id]) + 1) << "j" << j.id;
  }
  EXPECT_EQ(files_under(assets), 200u);
  EXPECT_TRUE(store->disk_full().empty());
  json after = parse_out(run_atelier({"-w", w, "status", "--json"}));
  EXPECT_TRUE(after["disk_full"].empty());
  EXPECT_EQ(after["waiting_for_space"], 0);
  EXPECT_EQ(after["state"], "succeeded");
}

TEST(DiskFull, AFreeSpaceProbeReleasesWaitingJobsBeforeTheirWaitEnds) {
  Tmpfs fs_full("4m");
  if (!fs_full.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs to fill (" << fs_full.error()
                 << "): needs root with CAP_SYS_ADMIN";
  const fs::path assets = fs_full.dir() / "assets";
  // A ten-minute disk-full wait: only the probe can let these jobs go on in time.
  TempWorkspace tw(fast_config() + "assets: " + assets.string() +
                   "\ndisk_full: {retry_ms: 600000, probe_ms: 50}\n");
  const fs::path filler = fs_full.fill();
  auto spec = tw.write_file("probe.yaml", sleep_spec(3));
  const std::string w = tw.dir().string();
  BackgroundProc run({"-w", w, "run", spec.string(), "--workers", "sleep=1"},
                     (tw.dir() / "run.log").string());
  auto store = tw.store();
  ASSERT_TRUE(wait_until([&] {
    return store->get_run(1) && disk_full_attempts(*store, 1).size() == 3 &&
           store->waiting_for_space(1) == 3;
  })) << read_file_text(tw.dir() / "run.log");
  ASSERT_EQ(store->disk_full().size(), 1u);
  fs::remove(filler);
  ASSERT_TRUE(wait_until([&] { return !run.running(); })) << "the jobs were not released";
  EXPECT_EQ(run.wait(), 0) << read_file_text(tw.dir() / "run.log");
  const std::vector<std::string> expected{"disk_full", "succeeded"};
  for (const auto& [job, outcomes] : outcomes_by_job(*store, 1))
    EXPECT_EQ(outcomes, expected) << "j" << job;
  EXPECT_TRUE(store->disk_full().empty());
}

TEST(DiskFull, RunKeyRevivesJobsAFullDiskKilledAndRetryRevivesTheRest) {
  TempWorkspace tw(fast_config());
  auto spec = tw.write_file("revive.yaml", R"(version: 1
name: revive
stages:
  - id: a
    kind: sleep
    matrix: {i: [0, 1, 2]}
    retries: 0
    with: {output: true}
  - id: b
    kind: sleep
    needs: a
    with: {output: true}
)");
  const std::string w = tw.dir().string();
  ProcResult sub = run_atelier({"-w", w, "submit", spec.string(), "--key", "nightly"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  // As a full disk ended jobs before: an ordinary failure with ENOSPC's text.
  {
    auto store = tw.store();
    auto leases =
        store->claim({"old-host:1", 1, {"sleep"}, 3, 30'000, (tw.dir() / "logs").string()});
    ASSERT_EQ(leases.size(), 3u);
    store->fail(leases[0].job_id, leases[0].attempt, FailKind::error,
                "filesystem error: write: No space left on device [" + w + "/tmp/put-1.tmp]");
    store->fail(leases[1].job_id, leases[1].attempt, FailKind::error, "boom");
    store->complete({{leases[2].job_id, leases[2].attempt, {}, {}}});
    ASSERT_EQ(store->get_run(1)->state, "failed");
  }
  ProcResult again = run_atelier({"-w", w, "run", spec.string(), "--key", "nightly"});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("revived 1 job(s)"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("atelier retry r1"), std::string::npos) << again.err;
  auto store = tw.store();
  EXPECT_EQ(store->get_job(1)->state, "succeeded");
  EXPECT_EQ(store->get_job(2)->state, "dead");
  EXPECT_EQ(store->get_job(4)->state, "skipped");  // j2 holds it
  ProcResult retry = run_atelier({"-w", w, "retry", "r1"});
  ASSERT_EQ(retry.exit_code, 0) << retry.out << retry.err;
  ProcResult last = run_atelier({"-w", w, "run", spec.string(), "--key", "nightly"});
  EXPECT_EQ(last.exit_code, 0) << last.out << last.err;
  for (const JobRow& j : store->list_jobs({.run_id = 1}))
    EXPECT_EQ(j.state, "succeeded") << "j" << j.id;
  bool revive_audited = false;
  for (const EventRow& e : store->recent_events(50))
    revive_audited = revive_audited || (e.action == "run.revive" && e.target == "r1");
  EXPECT_TRUE(revive_audited);
}
