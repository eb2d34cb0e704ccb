// Data-parallel inference over the rows (images) of a batch. At Atelier's small
// feature maps, libtorch's intra-op threading of one batch scales poorly: a UNet
// step is hundreds of short kernels, each a fork-join across the threads. Running
// contiguous slices of the batch on their own threads, one intra-op thread each,
// keeps every core busy for the whole step instead.
//
// Invariants: the split depends only on the row count and the thread count, so a
// given thread count always gives the same bits; the calling thread's grad mode
// and inference mode carry over to the slice threads; an exception thrown by any
// slice is rethrown in the caller after every slice has finished; the process-wide
// thread count is restored before returning.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>

namespace atelier::ml {

// Calls fn(begin, end) on slices covering rows [0, rows) and concatenates the
// results along dimension 0. threads <= 1 or rows < 2 is a plain fn(0, rows).
torch::Tensor map_row_slices(int64_t rows, int threads,
                             const std::function<torch::Tensor(int64_t begin, int64_t end)>& fn);

}  // namespace atelier::ml
