// libFuzzer target: arbitrary bytes as a safetensors file, through
// SafetensorsFile::parse. Refusing the file (FormatError) is the expected
// outcome for most inputs; any other exception, a crash, a hang or a sanitizer
// report is a finding. A file that parses must also survive the writer: its
// tensors, re-serialized and parsed again, come back identical, or the target
// aborts. Commands and results: docs/fuzzing.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "ml/safetensors.h"

namespace {

using namespace atelier::ml;

bool same(const SafetensorsFile& a, const SafetensorsFile& b) {
  if (a.metadata() != b.metadata() || a.tensors().size() != b.tensors().size()) return false;
  for (const TensorInfo& t : a.tensors()) {
    const TensorInfo* u = b.find(t.name);
    if (!u || u->dtype != t.dtype || u->shape != t.shape) return false;
    const auto x = a.data(t), y = b.data(*u);
    if (x.size() != y.size() || !std::equal(x.begin(), x.end(), y.begin())) return false;
  }
  return true;
}

// Re-serializes a parsed file and parses the result. A FormatError here is the
// writer's fault, so it is not caught: libFuzzer reports it.
void check_round_trip(const SafetensorsFile& file) {
  std::vector<TensorToWrite> tensors;
  for (const TensorInfo& t : file.tensors())
    tensors.push_back({t.name, t.dtype, t.shape, file.data(t)});
  const std::vector<std::byte> written = serialize_safetensors(std::move(tensors), file.metadata());
  if (!same(file, SafetensorsFile::parse(written, "rewritten.safetensors"))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* p = reinterpret_cast<const std::byte*>(data);
  std::optional<SafetensorsFile> file;
  try {
    file = SafetensorsFile::parse(std::vector<std::byte>(p, p + size), "fuzz.safetensors");
  } catch (const FormatError&) {
    return 0;
  }
  // Reading every byte of every span lets ASan check the spans' bounds.
  unsigned sum = 0;
  for (const TensorInfo& t : file->tensors()) {
    if (file->find(t.name) != &t) std::abort();
    for (const std::byte b : file->data(t)) sum += std::to_integer<unsigned>(b);
  }
  volatile unsigned sink = sum;  // keeps the reads from being optimized away
  (void)sink;
  check_round_trip(*file);
  return 0;
}
