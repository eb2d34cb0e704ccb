// Invalid specs through the real binary: each fixture in
// tests/fixtures/invalid_specs/ (its expectation in expectations.json there)
// makes `validate` and `submit` exit 2 with one message naming FILE:line:col
// and saying what to change, and leaves the workspace without a run. Specs that
// are too big to keep in the repository are generated here.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pipelines/spec_text_checks.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(ATELIER_FIXTURES) / "invalid_specs";

struct Case {
  std::string file, at, message;
};

// gtest prints this into each case's name; the file says which one failed.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.file;
}

std::vector<Case> fixture_cases() {
  std::ifstream in(kDir / "expectations.json");
  const nlohmann::json doc = nlohmann::json::parse(in);
  std::vector<Case> out;
  for (const auto& [file, e] : doc.at("fixtures").items())
    out.push_back({file, e.at("at").get<std::string>(), e.at("message").get<std::string>()});
  return out;
}

// Runs `atelier -w WS CMD FILE ARGS...` and checks the contract for one bad spec.
void expect_rejected(const TempWorkspace& tw, const std::string& file, const std::string& at,
                     const std::string& message, const std::vector<std::string>& extra = {}) {
  for (const char* cmd : {"validate", "submit"}) {
    std::vector<std::string> args = {"-w", tw.dir().string(), cmd, file};
    args.insert(args.end(), extra.begin(), extra.end());
    const ProcResult r = run_atelier(args);
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << cmd << ": one message\n" << r.err;
    if (!at.empty()) {
      EXPECT_NE(r.err.find(file + ":" + at + ": "), std::string::npos) << r.err;
    }
    EXPECT_NE(r.err.find(message), std::string::npos) << cmd << ": " << r.err;
  }
  EXPECT_FALSE(tw.store()->latest_run().has_value()) << "nothing may be enqueued";
}

class InvalidSpec : public ::testing::TestWithParam<Case> {};

TEST_P(InvalidSpec, ExitsTwoAtItsPositionAndEnqueuesNothing) {
  const Case& c = GetParam();
  TempWorkspace tw;
  expect_rejected(tw, (kDir / c.file).string(), c.at, c.message);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InvalidSpec, ::testing::ValuesIn(fixture_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = fs::path(info.param.file).stem().string();
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

TEST(InvalidSpecFixtures, EveryFixtureHasAnExpectation) {
  std::vector<std::string> files, listed;
  for (const auto& e : fs::directory_iterator(kDir))
    if (e.path().extension() == ".yaml") files.push_back(e.path().filename().string());
  for (const Case& c : fixture_cases()) listed.push_back(c.file);
  std::sort(files.begin(), files.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(files, listed);
  EXPECT_GE(files.size(), 25u);
}

// Over the 1 MiB limit: 64-byte lines, so the limit falls exactly at the start
// of line 16385.
TEST(InvalidSpecGenerated, OversizeSpecIsRejectedWhereItCrossesTheLimit) {
  TempWorkspace tw;
  static_assert(kMaxSpecBytes % 64 == 0);
  std::string text;
  const auto add = [&](std::string line) {
    line.resize(63, ' ');
    text += line + "\n";
  };
  add("version: 1");
  add("name: big");
  add("stages:");
  add("  - id: render");
  add("    kind: sleep");
  while (text.size() <= kMaxSpecBytes) add("# " + std::string(61, 'x'));
  const fs::path file = tw.write_file("big.yaml", text);
  expect_rejected(tw, file.string(), std::to_string(kMaxSpecBytes / 64 + 1) + ":1",
                  "over the 1 MiB limit (1048576 bytes)");
}

// --set names a param the spec does not declare: nothing in the file is wrong,
// so the message names the option and the file, not a position.
TEST(InvalidSpecGenerated, SetOfAnUndeclaredParamIsRejected) {
  TempWorkspace tw;
  const fs::path file =
      tw.write_file("spec.yaml",
                    "version: 1\nname: s\nparams:\n  ms: 5\nstages:\n  - id: a\n    kind: sleep\n"
                    "    with: {ms: \"${params.ms}\"}\n");
  expect_rejected(tw, file.string(), "",
                  "--set delay=3: " + file.string() + " declares no param 'delay' (its params: ms)",
                  {"--set", "delay=3"});
}

}  // namespace
