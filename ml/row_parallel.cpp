// Row-sliced parallel inference; see row_parallel.h.
#include "ml/row_parallel.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace atelier::ml {

int for_row_slices(int64_t rows, int threads,
                   const std::function<void(int64_t, int64_t, int)>& fn) {
  if (threads <= 1 || rows < 2) {
    fn(0, rows, 0);
    return 1;
  }
  const int parts = static_cast<int>(std::min<int64_t>(threads, rows));
  // Threads beyond one per slice go to the slices as intra-op threads.
  const int intra = std::max(1, threads / parts);
  const bool inference = c10::InferenceMode::is_enabled();
  const bool grad = at::GradMode::is_enabled();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(parts));
  for (int p = 0; p < parts; ++p) {
    const int64_t begin = rows * p / parts, end = rows * (p + 1) / parts;
    pool.emplace_back([&, p, begin, end] {
      try {
        // Thread-local state: a new thread starts with grad mode on and the
        // process default thread count.
        at::set_num_threads(intra);
        c10::InferenceMode im(inference);
        at::AutoGradMode gm(grad && !inference);
        fn(begin, end, p);
      } catch (...) {
        errors[static_cast<size_t>(p)] = std::current_exception();
      }
    });
  }
  for (auto& t : pool) t.join();
  // at::set_num_threads also sets the count new threads start with; put it back.
  at::set_num_threads(threads);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return parts;
}

torch::Tensor map_row_slices(int64_t rows, int threads,
                             const std::function<torch::Tensor(int64_t, int64_t)>& fn) {
  std::vector<torch::Tensor> out(static_cast<size_t>(std::max(1, threads)));
  const int parts = for_row_slices(rows, threads, [&](int64_t begin, int64_t end, int slice) {
    out[static_cast<size_t>(slice)] = fn(begin, end);
  });
  out.resize(static_cast<size_t>(parts));
  return parts == 1 ? out[0] : torch::cat(out, 0);
}

}  // namespace atelier::ml
