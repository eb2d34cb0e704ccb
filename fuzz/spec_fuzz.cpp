// libFuzzer target: arbitrary bytes as a spec, through parse_spec and
// expand_spec. Rejecting a spec (InputError) is the expected outcome for most
// inputs; any other exception, a crash, a hang or a sanitizer report is a
// finding. Commands and results: docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <string>

#include "orchestrator/errors.h"
#include "pipelines/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // A small fan-out limit: the limit itself is under test, and a run of a
  // million jobs would only measure memory.
  atelier::SpecLimits limits;
  limits.max_jobs = 1000;
  try {
    const atelier::PipelineSpec spec = atelier::parse_spec(text, "fuzz.yaml", {}, limits);
    (void)atelier::expand_spec(spec, 3);
  } catch (const atelier::InputError&) {
  }
  return 0;
}
