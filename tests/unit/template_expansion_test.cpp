// Prompt templating inside expansion: variants multiply jobs or are sampled
// with a recorded seed; wildcards come from files beside the spec.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "common/errors.h"
#include "pipelines/spec.h"

using namespace atelier;
namespace fs = std::filesystem;

namespace {
struct TemplateExpansion : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("tmpl-" + std::to_string(::getpid()));
  void SetUp() override {
    fs::create_directories(dir);
    std::ofstream(dir / "colors.txt") << "# palette\nred\n\n暖黄色\r\n";
  }
  void TearDown() override { fs::remove_all(dir); }
  PipelineSpec spec(const std::string& stage_extra, const std::string& label) {
    return parse_spec(
        "version: 1\nname: t\nstages:\n  - id: a\n    kind: sleep\n    matrix: {product: [mug, "
        "杯子]}\n" +
            stage_extra + "    with: {label: \"" + label + "\"}\n",
        (dir / "campaign.yaml").string(), {});
  }
  std::string error_of(const std::string& extra, const std::string& label) {
    try {
      expand_spec(spec(extra, label), 3, 10);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(no error)";
  }
};
}  // namespace

TEST_F(TemplateExpansion, CombinatorialVariantsMultiplyJobsAndRecordChoices) {
  NewRun r = expand_spec(spec("", "{product} in {red|blue}"), 3);
  ASSERT_EQ(r.jobs.size(), 4u);
  EXPECT_EQ((*r.jobs[0].params)["label"], "mug in red");
  EXPECT_EQ((*r.jobs[1].params)["label"], "mug in blue");
  EXPECT_EQ((*r.jobs[3].params)["label"], "杯子 in blue");
  EXPECT_EQ((*r.jobs[1].params)["_variants"]["label"]["choices"]["variant_0"], "blue");
  EXPECT_EQ(r.jobs[3].matrix, (json{{"product", "杯子"}}));
}

TEST_F(TemplateExpansion, SampledVariantsMakeOneJobEachWithARecordedSeed) {
  const std::string extra = "    variants: {mode: sampled, seed: 7}\n";
  NewRun a = expand_spec(spec(extra, "{product}: {a|b|c|d|e|f} __colors__"), 3);
  NewRun b = expand_spec(spec(extra, "{product}: {a|b|c|d|e|f} __colors__"), 3);
  ASSERT_EQ(a.jobs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(*a.jobs[i].params, *b.jobs[i].params);  // reproducible
    EXPECT_TRUE((*a.jobs[i].params)["_variants"]["label"].contains("seed"));
  }
  const std::string text = (*a.jobs[1].params)["label"];
  EXPECT_EQ(text.rfind("杯子: ", 0), 0u) << text;
  EXPECT_TRUE(text.ends_with("red") || text.ends_with("暖黄色")) << text;
}

TEST_F(TemplateExpansion, WildcardsExpandFromTheFileBesideTheSpec) {
  NewRun r = expand_spec(spec("", "__colors__ {product}"), 3);
  ASSERT_EQ(r.jobs.size(), 4u);
  EXPECT_EQ((*r.jobs[0].params)["label"], "red mug");
  EXPECT_EQ((*r.jobs[1].params)["label"], "暖黄色 mug");
}

TEST_F(TemplateExpansion, ErrorsNameThePlaceAndTheProblem) {
  std::string e = error_of("", "{colour} mug");
  EXPECT_NE(e.find("campaign.yaml:7:19: stage 'a': label: unknown variable '{colour}' (its "
                   "variables: product)"),
            std::string::npos)
      << e;
  e = error_of("", "__sizes__ mug");
  EXPECT_NE(e.find("sizes.txt"), std::string::npos) << e;
  e = error_of("", "{product} {a|b|c|d|e|f}");  // 12 jobs, limit 10
  EXPECT_NE(e.find("over the limit of 10"), std::string::npos) << e;
  e = error_of("    variants: randomly\n", "x");
  EXPECT_NE(e.find("variants mode 'randomly' is not combinatorial or sampled"), std::string::npos)
      << e;
}
