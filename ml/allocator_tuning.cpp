// glibc mallopt settings; see allocator_tuning.h.
#include "ml/allocator_tuning.h"

#include <malloc.h>

namespace atelier::ml {

void tune_allocator_for_tensors() {
  // Setting any of these switches off glibc's sliding mmap threshold, so all three
  // are set. Measured (docs/BENCHMARKS.md): trim threshold and top pad alone sped up
  // generation but left every buffer over 128 KiB to a fresh mmap, which made a
  // training step (batch-64 activations of ~16 MiB) 2.2x slower; with the mmap
  // threshold at its 32 MiB maximum both are at least as fast as the defaults.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
}

}  // namespace atelier::ml
