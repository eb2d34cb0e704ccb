// Data-parallel work over the rows (images) of a batch: inference, and the
// forward and backward passes of a training step. At Atelier's small
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

// Calls fn(begin, end, slice) on slices 0, 1, ... covering rows [0, rows), each on
// its own thread; returns the number of slices. threads <= 1 or rows < 2 is one
// slice, fn(0, rows, 0), on the calling thread.
int for_row_slices(int64_t rows, int threads,
                   const std::function<void(int64_t begin, int64_t end, int slice)>& fn);

// for_row_slices with each slice's result concatenated along dimension 0.
torch::Tensor map_row_slices(int64_t rows, int threads,
                             const std::function<torch::Tensor(int64_t begin, int64_t end)>& fn);

}  // namespace atelier::ml
