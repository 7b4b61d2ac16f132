#pragma once
// parallel_for: OpenMP over an index range, split into one contiguous chunk per thread.
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace ember::kernels::cpu {

// Below this many elements of work a loop runs on the calling thread: forking costs more.
constexpr std::int64_t kParallelGrain = 32768;

// Calls body(begin, end) on disjoint chunks covering [0, count). `work_per_index` scales the
// threshold for loops whose indices are rows rather than single elements.
template <class Body>
void parallel_for(std::int64_t count, std::int64_t work_per_index, const Body& body) {
  if (count <= 0) return;
  const std::int64_t work = count * std::max<std::int64_t>(work_per_index, 1);
  const int threads = static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), count));
  if (work < kParallelGrain || threads <= 1 || omp_in_parallel()) {
    body(std::int64_t{0}, count);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t thread = omp_get_thread_num();
    const std::int64_t chunk = (count + threads - 1) / threads;
    const std::int64_t begin = thread * chunk;
    const std::int64_t end = std::min(count, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

}  // namespace ember::kernels::cpu
