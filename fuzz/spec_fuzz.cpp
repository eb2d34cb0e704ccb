// libFuzzer target: arbitrary bytes as a spec, through parse_spec and
// expand_spec. Leading "#set key=value" lines (YAML comments, so the spec
// stays valid) also go in as --set values. Rejecting a spec (InputError) is the
// expected outcome for most inputs; any other exception, a crash, a hang or a
// sanitizer report is a finding. Commands and results: docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "common/errors.h"
#include "pipelines/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> sets = atelier::fuzz::leading_sets(text);
  // A small fan-out limit: the limit itself is under test, and a run of a
  // million jobs would only measure memory.
  atelier::SpecLimits limits;
  limits.max_jobs = 1000;
  try {
    const atelier::PipelineSpec spec = atelier::parse_spec(text, "fuzz.yaml", sets, limits);
    (void)atelier::expand_spec(spec, 3, limits.max_jobs);
  } catch (const atelier::InputError&) {
  }
  return 0;
}
