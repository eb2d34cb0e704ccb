// The pipeline language end to end with real workers: imported files with
// their licence, for_each over a stage's outputs, group_by, fan-in onto a
// dynamic stage, and ${stage.assets} references, all recorded as lineage.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "process_helpers.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

TEST(PipelineLanguage, ForEachGroupByReferencesAndImportsRunAsPlanned) {
  TempWorkspace tw(fast_config());
  tw.write_file("brand/logo.png", "not really a png, but bytes all the same");
  tw.write_file("brand/palette.txt", "red, 红色\n");
  tw.write_file("brand/licence.txt", "CC-BY-4.0\n");
  auto spec = tw.write_file("campaign.yaml", R"(version: 1
name: campaign
stages:
  - id: gen
    kind: sleep
    matrix: {product: [mug, tote], scene: [beach, city]}
    with: {output: true, files: brand/, label: "一杯咖啡"}
  - id: check
    kind: sleep
    for_each: gen
    with: {output: true}
  - id: video
    kind: sleep
    needs: check
    group_by: product
    with: {output: true}
  - id: report
    kind: sleep
    needs: [video, check]
    with: {output: true, files: "${gen.assets}"}
)");
  const std::string w = tw.dir().string();
  ProcResult dry = run_atelier({"-w", w, "submit", spec.string(), "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  json plan = json::parse(dry.out);
  EXPECT_EQ(plan["stages"][0]["jobs"], 4);
  EXPECT_EQ(plan["stages"][1]["made_when"], "gen has run");
  auto store = tw.store();
  EXPECT_FALSE(store->latest_run().has_value());  // a dry run enqueues nothing

  ProcResult r = run_atelier({"-w", w, "run", spec.string(), "--workers", "sleep=3,expand=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<std::string, std::vector<JobRow>> by_stage;
  for (const JobRow& j : store->list_jobs({.run_id = 1}))
    if (j.kind != "expand") by_stage[j.stage].push_back(j);
  ASSERT_EQ(by_stage["gen"].size(), 4u);
  ASSERT_EQ(by_stage["check"].size(), 4u);  // one per gen output
  ASSERT_EQ(by_stage["video"].size(), 2u);  // one per product
  ASSERT_EQ(by_stage["report"].size(), 1u);

  // Imported files: assets with their source and the licence beside them.
  int imported = 0;
  for (const InputRef& in : store->job_inputs(by_stage["gen"][0].id)) {
    if (in.role != "files") continue;
    auto a = store->get_asset(in.sha256);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->licence, "CC-BY-4.0");
    EXPECT_NE(a->source_path->find("brand/"), std::string::npos);
    ++imported;
  }
  EXPECT_EQ(imported, 2);

  // for_each: each check job consumed exactly one gen output and carries its producer's variables.
  std::set<std::string> gen_outputs;
  for (const JobRow& g : by_stage["gen"])
    for (const StageJob& sj : store->stage_jobs(1, "gen"))
      if (sj.id == g.id) gen_outputs.insert(sj.outputs.begin(), sj.outputs.end());
  std::set<std::string> checked;
  for (const JobRow& c : by_stage["check"]) {
    auto inputs = store->job_inputs(c.id);
    ASSERT_EQ(inputs.size(), 1u);
    EXPECT_EQ(inputs[0].role, "input");
    checked.insert(inputs[0].sha256);
    EXPECT_TRUE(c.matrix.contains("product") && c.matrix.contains("scene")) << c.matrix.dump();
  }
  EXPECT_EQ(checked, gen_outputs);

  // group_by: each video consumed the two checks of its product, and ran after them.
  for (const JobRow& v : by_stage["video"]) {
    auto inputs = store->job_inputs(v.id);
    EXPECT_EQ(inputs.size(), 2u);
    for (const JobRow& c : by_stage["check"]) {
      if (c.matrix["product"] != v.matrix["product"]) continue;
      EXPECT_LE(*c.finished_at, store->attempts(v.id).front().started_at);
    }
  }
  // Fan-in onto dynamic stages, and the reference resolved to every gen output.
  const JobRow& report = by_stage["report"][0];
  const int64_t report_start = store->attempts(report.id).front().started_at;
  for (const auto& stage : {"check", "video"})
    for (const JobRow& j : by_stage[stage]) EXPECT_LE(*j.finished_at, report_start);
  std::set<std::string> referenced;
  for (const InputRef& in : store->job_inputs(report.id))
    if (in.role == "files") referenced.insert(in.sha256);
  EXPECT_EQ(referenced, gen_outputs);

  ProcResult st = run_atelier({"-w", w, "status", "r1", "--json"});
  json s = json::parse(st.out);
  EXPECT_EQ(s["stages"]["check"]["succeeded"], 5);  // four jobs and the expand job
  EXPECT_EQ(s["state"], "succeeded");
}

TEST(PipelineLanguage, AMissingImportIsAnErrorAtItsLineAndNothingIsEnqueued) {
  TempWorkspace tw;
  auto spec = tw.write_file("s.yaml",
                            "version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n"
                            "    with: {files: brand/*.png}\n");
  for (const char* cmd : {"validate", "submit"}) {
    ProcResult r = run_atelier({"-w", tw.dir().string(), cmd, spec.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(spec.string() + ":6:19: stage 'a': files: no files match 'brand/*.png'"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(tw.store()->latest_run().has_value());
}

TEST(PipelineLanguage, ASymlinkLoopInAnImportFolderIsAnErrorAtItsLine) {
  TempWorkspace tw;
  std::filesystem::create_directories(tw.dir() / "brand");
  std::filesystem::create_symlink("self", tw.dir() / "brand" / "self");
  std::filesystem::create_symlink("loop", tw.dir() / "loop");
  auto spec = tw.write_file("s.yaml",
                            "version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n"
                            "    with: {files: brand/}\n  - id: b\n    kind: sleep\n"
                            "    with: {files: loop}\n");
  for (const char* cmd : {"validate", "submit"}) {
    ProcResult r = run_atelier({"-w", tw.dir().string(), cmd, spec.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(spec.string() + ":6:19: stage 'a': files: 'brand/': "), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("Too many levels of symbolic links"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(tw.store()->latest_run().has_value());
}

TEST(PipelineLanguage, AFileNameThatIsNotUtf8IsRefusedByNameAndLeavesNoRows) {
  TempWorkspace tw;
  std::filesystem::create_directories(tw.dir() / "good");
  std::filesystem::create_directories(tw.dir() / "odd");
  tw.write_file("good/a.txt", "a");
  tw.write_file(std::string("odd/caf\xe9.txt"), "latin-1 name");
  auto spec = tw.write_file("s.yaml",
                            "version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n"
                            "    with: {files: good/}\n  - id: b\n    kind: sleep\n"
                            "    with: {files: odd/}\n");
  for (const char* cmd : {"validate", "submit"}) {
    ProcResult r = run_atelier({"-w", tw.dir().string(), cmd, spec.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(spec.string() + ":9:19: stage 'b': files: 'odd/': the file name "),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("caf\\xe9.txt is not valid UTF-8"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(tw.store()->latest_run().has_value());
  EXPECT_TRUE(tw.store()->asset_shas().empty()) << "stage a's file was not imported";
}

TEST(PipelineLanguage, EveryExampleSpecRunsAsItIs) {
  int ran = 0;
  for (const auto& e : std::filesystem::directory_iterator(ATELIER_EXAMPLES)) {
    if (e.path().extension() != ".yaml") continue;
    // The campaign needs its inputs made first and a few minutes: campaign_test.cpp
    // runs it (reduced).
    if (e.path().filename() == "campaign.yaml") continue;
    TempWorkspace tw(fast_config());
    ProcResult r = run_atelier({"-w", tw.dir().string(), "run", e.path().string()});
    EXPECT_EQ(r.exit_code, 0) << e.path() << "\n" << r.out << r.err;
    EXPECT_EQ(tw.store()->get_run(1)->state, "succeeded") << e.path();
    ++ran;
  }
  EXPECT_GE(ran, 2);
}
