// Expansion as pure logic: spec text in, job plan out. Covers matrix
// include/exclude, group_by, for_each (made later from outputs), fan-in onto
// dynamic stages, references and the fan-out limit.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "pipelines/spec.h"

using namespace atelier;

namespace {
PipelineSpec spec_of(const std::string& text, const SpecLimits& limits = {}) {
  return parse_spec(text, "campaign.yaml", {}, limits);
}
std::string error_of(const std::string& text, const SpecLimits& limits = {}) {
  try {
    spec_of(text, limits);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kCampaign = R"(version: 1
name: campaign
stages:
  - id: gen
    kind: sleep
    matrix:
      product: [mug, tote, cap]
      scene: [beach, city]
      exclude:
        - {product: cap, scene: beach}
      include:
        - {product: scarf, scene: snow}
    with: {output: true}
  - id: check
    kind: sleep
    for_each: gen
    with: {output: true}
  - id: video
    kind: sleep
    needs: check
    group_by: product
  - id: report
    kind: sleep
    needs: [video, check]
    with: {files: "${gen.assets}"}
)";
}  // namespace

TEST(Expansion, MatrixExcludeAndInclude) {
  PipelineSpec s = spec_of(kCampaign);
  auto combos = matrix_combinations(s.stages[0]);
  ASSERT_EQ(combos.size(), 6u);
  EXPECT_EQ(combos[0], (json{{"product", "mug"}, {"scene", "beach"}}));
  EXPECT_EQ(combos[4], (json{{"product", "cap"}, {"scene", "city"}}));
  EXPECT_EQ(combos[5], (json{{"product", "scarf"}, {"scene", "snow"}}));
}

TEST(Expansion, DynamicStagesGetExpandJobsAndFanInWaitsForThem) {
  PipelineSpec s = spec_of(kCampaign);
  NewRun r = expand_spec(s, 3);
  // 6 gen jobs, an expand job for check (for_each) and for video (groups a
  // dynamic stage), and report waiting on both expand jobs.
  ASSERT_EQ(r.jobs.size(), 9u);
  const NewJob& check = r.jobs[6];
  EXPECT_EQ(check.kind, "expand");
  EXPECT_EQ(check.stage, "check");
  EXPECT_EQ(check.deps, (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
  const NewJob& video = r.jobs[7];
  EXPECT_EQ(video.kind, "expand");
  EXPECT_EQ(video.deps, (std::vector<size_t>{6}));
  const NewJob& report = r.jobs[8];
  EXPECT_EQ(report.kind, "sleep");
  EXPECT_EQ(report.deps, (std::vector<size_t>{7, 6}));
  EXPECT_EQ((*report.params)["files"], (json{{"$ref", "gen.assets"}}));
  EXPECT_TRUE(is_deferred(s, s.stages[1]));
  EXPECT_TRUE(is_deferred(s, s.stages[2]));
  EXPECT_FALSE(is_deferred(s, s.stages[3]));
}

TEST(Expansion, ForEachMakesOneJobPerOutputCarryingItsProducersVariables) {
  PipelineSpec s = spec_of(kCampaign);
  std::map<std::string, std::vector<ExistingJob>> up;
  up["gen"] = {{11, {{"product", "mug"}, {"scene", "beach"}}, {"aa", "bb"}},
               {12, {{"product", "tote"}, {"scene", "city"}}, {"cc"}}};
  auto jobs = expand_deferred_stage(s, "check", up, 3, 1000);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].matrix, (json{{"product", "mug"}, {"scene", "beach"}}));
  EXPECT_EQ((*jobs[0].params)["_inputs"], json::array({"aa"}));
  EXPECT_EQ((*jobs[1].params)["_inputs"], json::array({"bb"}));
  EXPECT_EQ(jobs[2].dep_ids, (std::vector<int64_t>{12}));
  EXPECT_EQ(jobs[2].stage, "check");
  EXPECT_THROW(expand_deferred_stage(s, "check", up, 3, 2), InputError);  // over the limit
}

TEST(Expansion, GroupByMakesOneJobPerValueWaitingForItsGroup) {
  PipelineSpec s = spec_of(kCampaign);
  std::map<std::string, std::vector<ExistingJob>> up;
  up["check"] = {{21, {{"product", "mug"}, {"scene", "beach"}}, {"x"}},
                 {22, {{"product", "tote"}, {"scene", "city"}}, {"y"}},
                 {23, {{"product", "mug"}, {"scene", "city"}}, {"z"}}};
  auto jobs = expand_deferred_stage(s, "video", up, 3, 1000);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].matrix, (json{{"product", "mug"}}));
  EXPECT_EQ(jobs[0].dep_ids, (std::vector<int64_t>{21, 23}));
  EXPECT_EQ(jobs[1].dep_ids, (std::vector<int64_t>{22}));
}

TEST(Expansion, GroupByOverAStaticStageIsPlannedAtSubmission) {
  PipelineSpec s = spec_of(R"(version: 1
name: g
stages:
  - id: gen
    kind: sleep
    matrix: {product: [mug, tote], seed: [1, 2, 3]}
  - id: video
    kind: sleep
    needs: gen
    group_by: product
)");
  NewRun r = expand_spec(s, 3);
  ASSERT_EQ(r.jobs.size(), 8u);
  EXPECT_EQ(r.jobs[6].matrix, (json{{"product", "mug"}}));
  EXPECT_EQ(r.jobs[6].deps, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(r.jobs[7].deps, (std::vector<size_t>{3, 4, 5}));
}

TEST(Expansion, ValidationOfTheNewConstructs) {
  const std::string head = "version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n";
  EXPECT_NE(error_of(head + "  - id: b\n    kind: sleep\n    for_each: zz\n")
                .find("campaign.yaml:8:15: stage 'b': for_each names unknown stage 'zz'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "  - id: b\n    kind: sleep\n    with: {files: '${a.assets}'}\n")
                .find("campaign.yaml:8:19: stage 'b': '${a.assets}' refers to stage 'a', which "
                      "this stage does not wait for"),
            std::string::npos);
  EXPECT_NE(
      error_of(head +
               "  - id: b\n    kind: sleep\n    needs: a\n    with: {label: 'x ${a.assets}'}\n")
          .find("must be the whole value"),
      std::string::npos);
  EXPECT_NE(
      error_of(head + "  - id: b\n    kind: sleep\n    needs: a\n    with: {ms: '${a.model}'}\n")
          .find("param 'ms' must be an integer, not a reference"),
      std::string::npos);
  EXPECT_NE(error_of(head + "  - id: b\n    kind: sleep\n    needs: a\n    group_by: product\n")
                .find("campaign.yaml:9:15: stage 'b': group_by 'product' must be a matrix variable "
                      "of a stage it needs"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    matrix: {p: [1, 2], exclude: [{q: 1}]}\n")
                .find("names 'q', which is not one of the matrix lists"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    matrix:\n      p: [1, 2]\n      r: [3]\n      include: [{p: 9}]\n")
                .find("this matrix include entry must set 'r' too"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    matrix: {p: [1], exclude: [{p: 1}]}\n")
                .find("the matrix excludes every combination"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    matrix: {p: [1, 2, 3], q: [1, 2, 3, 4]}\n", {10})
                .find("campaign.yaml:6:13: stage 'a': the matrix makes 12 combinations, over the "
                      "limit of 10 jobs"),
            std::string::npos);
  EXPECT_NE(error_of(head + "    with: {files: 3}\n").find("param 'files' must be a path, a glob"),
            std::string::npos);
  // Internal kinds are not for specs.
  EXPECT_NE(
      error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: expand\n    with: {stage: a}\n")
          .find("campaign.yaml:5:11: stage 'a': unknown kind 'expand'"),
      std::string::npos);
}
