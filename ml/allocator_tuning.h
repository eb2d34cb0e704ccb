// Process-wide malloc settings for processes that run libtorch. libtorch's CPU
// allocator is plain malloc, and a UNet step frees and reallocates hundreds of
// activation buffers; with glibc's defaults the heap top is trimmed back to the
// kernel and faulted in again on every step. Keeping freed memory in the process
// makes generation about 5% faster (docs/BENCHMARKS.md) and leaves training as fast
// as before, at the cost of the process keeping its peak heap.
#pragma once

namespace atelier::ml {

// Call once at start-up, before the first tensor is allocated.
void tune_allocator_for_tensors();

}  // namespace atelier::ml
