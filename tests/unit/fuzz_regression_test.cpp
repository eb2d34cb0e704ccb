// Inputs that once broke spec loading under the fuzzer (fuzz/spec_fuzz.cpp),
// kept in tests/fixtures/fuzz_regressions/ and replayed as the target does
// (leading "#set" lines are --set values). Each must now load and expand, or
// be rejected with an InputError; nothing else may escape. The long fuzzing run
// is not part of the tests; these inputs are.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/fuzz_input.h"
#include "common/errors.h"
#include "pipelines/spec.h"

using namespace atelier;
namespace fs = std::filesystem;

TEST(FuzzRegressions, EachInputLoadsOrIsRejectedWithAnInputError) {
  const fs::path dir = fs::path(ATELIER_FIXTURES) / "fuzz_regressions";
  int count = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == "README.md") continue;
    SCOPED_TRACE(e.path().filename().string());
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    SpecLimits limits;
    limits.max_jobs = 1000;  // as the fuzz target runs
    try {
      const PipelineSpec spec =
          parse_spec(ss.str(), "fuzz.yaml", fuzz::leading_sets(ss.str()), limits);
      (void)expand_spec(spec, 3, limits.max_jobs);
    } catch (const InputError&) {
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "escaped as " << typeid(ex).name() << ": " << ex.what();
    }
    ++count;
  }
  RecordProperty("inputs", count);
}
