// glibc mallopt settings; see allocator_tuning.h.
#include "ml/allocator_tuning.h"

#include <malloc.h>

namespace atelier::ml {

void tune_allocator_for_tensors() {
  // Never give the heap top back, and grow it in large steps. Measured with the
  // generation benchmark: this is what pays; a larger mmap threshold (moving the
  // multi-megabyte activations onto the heap as well) made it slower.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
}

}  // namespace atelier::ml
