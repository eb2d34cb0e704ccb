// The cleaner removes orphan and temp files past the grace, and old runs.
#include <gtest/gtest.h>

#include "orchestrator/cleaner.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

struct CleanerTest : StoreTest {};

TEST_P(CleanerTest, RemovesOrphansAndExpiredRunsButKeepsWhatIsReferenced) {
  TempWorkspace tw{"", GetParam()};
  auto clock = std::make_shared<ManualClock>(SystemClock().now_ms());
  auto store = tw.store(clock);
  AssetStore files = tw.ws().asset_store();

  store->submit_run(simple_run("kept", 1));
  StoredFile kept = files.put_bytes("referenced", "txt");
  Lease l = store->claim({"w", 1, {"sleep"}, 1, 1000, (tw.dir() / "logs").string()}).at(0);
  store->complete(
      {{l.job_id, l.attempt, {{kept.sha256, "text/plain", "txt", kept.bytes, "out.txt"}}, {}}});
  StoredFile orphan = files.put_bytes("crashed before its commit", "txt");
  tw.write_file("tmp/put-1-1.tmp", "half written");
  fs::create_directories(tw.dir() / "logs" / "j1");

  CleanerOptions opts{tw.ws().assets_dir(), tw.ws().tmp_dir(), tw.ws().logs_dir(), 60'000, 30};
  Cleaner cleaner(*store, *clock, opts);
  CleanerStats young = cleaner.run_once();  // everything is younger than the grace
  EXPECT_EQ(young.orphan_files, 0);
  EXPECT_TRUE(fs::exists(orphan.path));

  clock->advance(120'000);
  CleanerStats s = cleaner.run_once();
  EXPECT_EQ(s.orphan_files, 1);
  EXPECT_EQ(s.temp_files, 1);
  EXPECT_EQ(s.runs_removed, 0);
  EXPECT_FALSE(fs::exists(orphan.path));
  EXPECT_TRUE(fs::exists(kept.path));

  clock->advance(31LL * 86'400'000);  // past retention: the run, its rows, then its file go
  s = cleaner.run_once();
  EXPECT_EQ(s.runs_removed, 1);
  EXPECT_EQ(s.log_dirs, 1);
  EXPECT_FALSE(store->get_run(1).has_value());
  EXPECT_TRUE(store->asset_shas().empty());
  EXPECT_FALSE(fs::exists(kept.path));
  EXPECT_EQ(store->integrity_check(), "ok");
}

INSTANTIATE_STORE_SUITE(CleanerTest);
