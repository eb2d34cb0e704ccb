// The store's side of checks, on a real SQLite file: image hashes stored with
// outputs and imports (and filled in later only where missing), verdicts written
// with a job's completion, outputs that do not flow downstream, and the registry
// of protected works.
#include <gtest/gtest.h>

#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

struct ChecksStoreTest : StoreTest {
  TempWorkspace tw{"", GetParam()};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<Store> store = tw.store(clock);

  ClaimRequest req() { return {"w1", 1, {"sleep"}, 1, 1000, "/tmp/logs"}; }
};

const std::string kSha1(64, 'a'), kSha2(64, 'b'), kSha3(64, 'c');

}  // namespace

TEST_P(ChecksStoreTest, VerdictsAndForwardedOutputsLandWithTheCompletion) {
  NewRun r = simple_run("gate", 2);
  r.jobs[1].deps = {0};  // job 2 waits for job 1 (the check)
  const int64_t run = store->submit_run(r).run_id;
  Lease check = store->claim(req()).at(0);
  OutputAsset kept{kSha1, "image/png", "png", 10, "a.png"};
  kept.hashes = AssetHashes{std::string(64, 'f'), 87, std::string(96, '0')};
  kept.width = 32;
  kept.height = 32;
  OutputAsset report{kSha2, "application/json", "json", 5, "bias_report.json"};
  report.forward = false;
  CheckVerdict pass{kSha1, "copyright", "pass", 120.0, json{{"reason", "none"}}, "fail", false};
  CheckVerdict fail{kSha3, "copyright", "fail", 3.0, json{{"label", "ACME mascots"}}, "fail", true};
  CheckVerdict batch{std::nullopt,        "bias", "warn", std::nullopt,
                     json{{"people", 0}}, "fail", false};
  Completion c{check.job_id, check.attempt, {kept, report}, {}};
  c.checks = {pass, fail, batch};
  ASSERT_EQ(store->complete({c})[0], FenceResult::ok);

  // The next stage receives only the forwarded output.
  Lease next = store->claim(req()).at(0);
  auto ins = store->dependency_outputs(next.job_id);
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0].sha256, kSha1);
  ASSERT_TRUE(ins[0].hashes);
  EXPECT_EQ(ins[0].hashes->quality, 87);
  EXPECT_EQ(ins[0].width, 32);
  // Both outputs are still the job's assets (the report is a record of it).
  EXPECT_EQ(store->list_assets(run).size(), 2u);
  // for_each expansion and ${stage.assets} see only the forwarded one too.
  EXPECT_EQ(store->stage_jobs(run, "s").at(0).outputs, std::vector<std::string>{kSha1});

  auto rows = store->run_checks(run);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].sha256, kSha3);
  EXPECT_TRUE(rows[1].quarantined);
  EXPECT_EQ(rows[1].details["label"], "ACME mascots");
  EXPECT_EQ(rows[1].job_id, check.job_id);
  EXPECT_FALSE(rows[2].sha256);
  EXPECT_EQ(rows[2].check_kind, "bias");
  EXPECT_EQ(store->asset_checks(kSha1).size(), 1u);
  EXPECT_EQ(store->asset_checks(kSha1)[0].gate, "fail");
}

TEST_P(ChecksStoreTest, AFencedOutCompletionWritesNoVerdict) {
  store->submit_run(simple_run("late", 1));
  Lease first = store->claim(req()).at(0);
  clock->advance(1001);
  ASSERT_EQ(store->rescue_expired_leases(), 1);
  Completion c{first.job_id, first.attempt, {}, {}};
  c.checks = {CheckVerdict{kSha1, "terms", "fail", std::nullopt, json::object(), "warn", false}};
  EXPECT_EQ(store->complete({c})[0], FenceResult::lost);
  EXPECT_TRUE(store->asset_checks(kSha1).empty());
}

TEST_P(ChecksStoreTest, HashesAreFilledInOnlyWhereMissing) {
  store->import_asset({kSha1, "image/jpeg", "jpg", "/brand/a.jpg", 100, "CC-BY-4.0"});
  EXPECT_FALSE(store->get_asset(kSha1)->hashes);
  store->set_asset_hashes(kSha1, {std::string(64, '1'), 70, std::string(96, '2')}, 64, 48);
  auto a = store->get_asset(kSha1);
  ASSERT_TRUE(a->hashes);
  EXPECT_EQ(a->hashes->phash, std::string(64, '1'));
  EXPECT_EQ(a->width, 64);
  EXPECT_EQ(a->height, 48);
  // Hashes once stored stay: a second writer cannot replace them.
  store->set_asset_hashes(kSha1, {std::string(64, '3'), 99, std::string(96, '4')}, 1, 1);
  EXPECT_EQ(store->get_asset(kSha1)->hashes->phash, std::string(64, '1'));
  // An import that brings hashes fills them in for an asset recorded without.
  store->import_asset({kSha2, "image/png", "png", "/brand/b.png", 100, std::nullopt});
  ImportedAsset again{kSha2, "image/png", "png", "/brand/b.png", 100, std::nullopt};
  again.hashes = AssetHashes{std::string(64, '5'), 60, std::string(96, '6')};
  store->import_asset(again);
  EXPECT_EQ(store->get_asset(kSha2)->hashes->quality, 60);
}

TEST_P(ChecksStoreTest, RegistryEntriesAreListedOncePerFileAndLabel) {
  RegistryEntry e;
  e.label = "ACME mascots";
  e.sha256 = kSha1;
  e.source_path = "/protected/mascot.png";
  e.width = 64;
  e.height = 64;
  e.hashes = {std::string(64, '7'), 90, std::string(96, '8')};
  RegistryEntry other = e;
  other.sha256 = kSha2;
  RegistryEntry relabelled = e;
  relabelled.label = "Stock photos";
  EXPECT_EQ(store->add_registry_entries({e, other}), 2);
  EXPECT_EQ(store->add_registry_entries({e, relabelled}), 1);  // e is listed already
  EXPECT_EQ(store->registry(std::nullopt).size(), 3u);
  auto mascots = store->registry(std::string("ACME mascots"));
  ASSERT_EQ(mascots.size(), 2u);
  EXPECT_EQ(mascots[0].hashes.quality, 90);
  EXPECT_EQ(mascots[0].source_path, "/protected/mascot.png");
  EXPECT_EQ(store->registry_entry(mascots[1].id)->sha256, kSha2);
  EXPECT_FALSE(store->registry_entry(999));
}

INSTANTIATE_STORE_SUITE(ChecksStoreTest);
