// Spec loading: validation errors point at file:line:col; expansion makes the
// cartesian product and wires dependencies.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "pipelines/spec.h"

using namespace atelier;

namespace {
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse_spec(text, "spec.yaml", sets);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kGood = R"(version: 1
name: demo
params:
  ms: 5
  tag: base
stages:
  - id: a
    kind: sleep
    matrix:
      x: [1, 2, 3]
      y: [p, q]
    with: {ms: "${params.ms}", output: true}
    priority: 2
  - id: b
    kind: sleep
    needs: a
    retries: 4
    timeout: 90s
)";
}  // namespace

TEST(Spec, ExpandsMatrixAndDependencies) {
  PipelineSpec s = parse_spec(kGood, "spec.yaml", {});
  ASSERT_EQ(s.stages.size(), 2u);
  NewRun r = expand_spec(s, 3);
  ASSERT_EQ(r.jobs.size(), 7u);
  EXPECT_EQ(r.jobs[0].matrix, (json{{"x", 1}, {"y", "p"}}));
  EXPECT_EQ(r.jobs[5].matrix, (json{{"x", 3}, {"y", "q"}}));
  EXPECT_EQ((*r.jobs[0].params)["ms"], 5);  // a whole-value reference keeps its type
  EXPECT_EQ(r.jobs[0].priority, 2);
  EXPECT_EQ(r.jobs[0].max_attempts, 3);
  EXPECT_EQ(r.jobs[6].stage, "b");
  EXPECT_EQ(r.jobs[6].deps.size(), 6u);
  EXPECT_EQ(r.jobs[6].max_attempts, 5);
  EXPECT_EQ(r.jobs[6].timeout_ms, 90'000);
  EXPECT_EQ(r.spec_sha256.size(), 64u);
}

TEST(Spec, SetOverridesAreTyped) {
  PipelineSpec s = parse_spec(kGood, "spec.yaml", {"ms=250", "tag=night run"});
  EXPECT_EQ(s.params["ms"], 250);
  EXPECT_EQ(s.params["tag"], "night run");
  EXPECT_EQ(s.stages[0].with["ms"], 250);
  EXPECT_NE(error_of(kGood, {"nope=1"}).find("declares no param 'nope'"), std::string::npos);
  EXPECT_NE(error_of(kGood, {"ms"}).find("expected key=value"), std::string::npos);
  EXPECT_NE(error_of(kGood, {"ms=fast"}).find("param 'ms' must be an integer"), std::string::npos);
}

TEST(Spec, InvalidYamlNamesLineAndColumn) {
  std::string e = error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: [sleep\n");
  EXPECT_NE(e.find("spec.yaml:5:11: "), std::string::npos) << e;
  EXPECT_NE(e.find("never closed"), std::string::npos) << e;
}

TEST(Spec, UnknownKindNamesItsPosition) {
  std::string e = error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: paint\n");
  EXPECT_NE(e.find("spec.yaml:5:11: stage 'a': unknown kind 'paint' (known: sleep"),
            std::string::npos)
      << e;
}

TEST(Spec, RejectsUnknownKeysParamsTypesAndStages) {
  EXPECT_NE(
      error_of("version: 1\nname: x\nstagez: []\n").find("spec.yaml:3:1: unknown key 'stagez'"),
      std::string::npos);
  EXPECT_NE(
      error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n    with: {secs: 3}\n")
          .find("spec.yaml:6:12: stage 'a': kind 'sleep' has no param 'secs'"),
      std::string::npos);
  EXPECT_NE(
      error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n    with: {ms: soon}\n")
          .find("spec.yaml:6:16: stage 'a': param 'ms' must be an integer"),
      std::string::npos);
  EXPECT_NE(error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n    needs: [zz]\n")
                .find("spec.yaml:6:13: stage 'a' needs unknown stage 'zz'"),
            std::string::npos);
  EXPECT_NE(error_of("version: 2\nname: x\nstages: []\n").find("unsupported spec version 2"),
            std::string::npos);
  EXPECT_NE(
      error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n    timeout: soon\n")
          .find("not a duration"),
      std::string::npos);
  EXPECT_NE(
      error_of("version: 1\nname: x\nstages:\n  - {id: a, kind: sleep}\n  - {id: a, kind: sleep}\n")
          .find("duplicate stage id 'a'"),
      std::string::npos);
  EXPECT_NE(error_of("version: 1\nname: x\nstages:\n  - id: a\n    kind: sleep\n    with: {ms: "
                     "'${params.q}'}\n")
                .find("unknown param 'q'"),
            std::string::npos);
}

TEST(Spec, RejectsCycles) {
  std::string e = error_of(
      "version: 1\nname: x\nstages:\n  - {id: a, kind: sleep, needs: c}\n  - {id: b, kind: sleep, "
      "needs: a}\n"
      "  - {id: c, kind: sleep, needs: b}\n");
  EXPECT_NE(e.find("dependency cycle: a -> c -> b -> a"), std::string::npos) << e;
}

TEST(Spec, Durations) {
  EXPECT_EQ(parse_duration_ms("1500ms"), 1500);
  EXPECT_EQ(parse_duration_ms("2m"), 120'000);
  EXPECT_EQ(parse_duration_ms("1h"), 3'600'000);
  EXPECT_EQ(parse_duration_ms("30"), 30'000);
  EXPECT_THROW(parse_duration_ms("3 weeks"), InputError);
}

TEST(Spec, MissingFileIsNamed) {
  try {
    load_spec("/nonexistent/spec.yaml", {});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/spec.yaml: spec file not found");
  }
}
