// What a spec may touch, through the real binary: the workspace's keys/ and
// database are refused to every spec (exit 2, naming the file, no asset rows
// left), a local spec may otherwise read what the user can; and per-import
// records: the same bytes imported again under a stricter licence are judged
// by it and shown with both licences.
#include <gtest/gtest.h>

#include <fstream>

#include "orchestrator/asset_store.h"
#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

TEST(Confinement, NoSpecReadsTheWorkspaceKeysOrDatabase) {
  TempWorkspace tw;
  const std::string w = tw.dir().string();
  fs::create_directories(tw.dir() / "keys");
  std::ofstream(tw.dir() / "keys" / "workspace.ed25519") << "secret";
  fs::create_directories(tw.dir() / "brand");
  fs::create_symlink(tw.dir() / "keys" / "workspace.ed25519", tw.dir() / "brand" / "key.png");
  for (const std::string files : {"keys/workspace.ed25519", "brand/", "atelier.db"}) {
    const auto spec = tw.write_file("leak.yaml", R"(version: 1
name: leak
stages:
  - id: s
    kind: sleep
    with: {ms: 1, files: [")" + files + R"("]}
)");
    const ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "sleep=1"});
    EXPECT_EQ(r.exit_code, 2) << files << r.out << r.err;
    EXPECT_NE(r.err.find("leak.yaml:6:"), std::string::npos) << r.err;
    EXPECT_TRUE(r.err.find("signing key folder") != std::string::npos ||
                r.err.find("job database") != std::string::npos)
        << r.err;
  }
  auto store = tw.store();
  EXPECT_FALSE(store->get_asset(sha256_hex("secret"))) << "the key was not imported";
  EXPECT_FALSE(store->get_run(1)) << "no run";
}

TEST(Confinement, ALocalSpecReadsOutsideTheWorkspace) {
  TempWorkspace tw;
  const fs::path outside = tw.dir().string() + "-outside";
  fs::create_directories(outside);
  std::ofstream(outside / "brief.txt") << "brief";
  const auto spec = tw.write_file("ok.yaml", R"(version: 1
name: ok
stages:
  - id: s
    kind: sleep
    with: {ms: 1, files: [")" + (outside / "brief.txt").string() +
                                                 R"("]}
)");
  const ProcResult r =
      run_atelier({"-w", tw.dir().string(), "run", spec.string(), "--workers", "sleep=1"});
  fs::remove_all(outside);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(ImportRecords, TheSameBytesUnderAStricterLicenceAreJudgedByItAndShownWithBoth) {
  TempWorkspace tw;
  const std::string w = tw.dir().string();
  tw.write_file("open/logo.txt", "ACME logo");
  tw.write_file("closed/logo.txt", "ACME logo");  // the same bytes, elsewhere
  auto spec_for = [&](const std::string& name, const std::string& folder,
                      const std::string& licence) {
    return tw.write_file(name + ".yaml", "version: 1\nname: " + name + R"(
stages:
  - id: make
    kind: sleep
    with: {ms: 1, output: true, files: {path: )" +
                                             folder + "/logo.txt, licence: " + licence + R"(}}
  - id: vet
    kind: check
    needs: [make]
    with: {licence: fail, gate: warn}
)");
  };
  ProcResult r = run_atelier({"-w", w, "run", spec_for("first", "open", "CC0-1.0").string(),
                              "--workers", "sleep=1,check=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run_atelier({"-w", w, "run", spec_for("second", "closed", "PROPRIETARY").string(),
                   "--workers", "sleep=1,check=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  auto store = tw.store();
  const auto first = store->run_checks(1), second = store->run_checks(2);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].verdict, "pass") << first[0].details.dump();
  ASSERT_EQ(second.size(), 1u);
  const CheckRow& c = second[0];
  EXPECT_EQ(c.verdict, "fail") << c.details.dump();
  EXPECT_NE(c.details["restricted"].dump().find("PROPRIETARY (restricted)"), std::string::npos)
      << c.details.dump();
  EXPECT_NE(c.details["licensed"].dump().find("CC0-1.0"), std::string::npos);
  // The run-1 check stays as it was: it judged what was known then.

  // Both imports are recorded and shown by provenance.
  const std::string logo_sha = sha256_hex("ACME logo");
  const auto records = store->asset_imports(logo_sha);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].licence, "CC0-1.0");
  EXPECT_EQ(records[1].licence, "PROPRIETARY");
  EXPECT_NE(records[1].source_path.find("closed/logo.txt"), std::string::npos);
  ASSERT_TRUE(c.sha256);
  r = run_atelier({"-w", w, "provenance", *c.sha256});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CC0-1.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PROPRIETARY"), std::string::npos) << r.out;
}
