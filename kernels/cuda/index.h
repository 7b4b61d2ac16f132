#pragma once
// Index kernels on the GPU, with the CPU kernels' contract (kernels/cpu/index.h): contiguous
// buffers seen as [outer, n, inner]; index values already range-checked by the op layer.
//
// The two accumulating kernels (index_add, scatter_add) give each output element to one thread,
// which walks the sources in order and adds those that land on it: no atomics, so the sums are
// the same on every run, at the cost of reading the whole index per output row. Fine for the
// losses' gathers (a handful of classes); an embedding with a large vocabulary wants a sorted
// index instead (not written yet).
#include <cstdint>

#include "core/scalar_type.h"

namespace ember::kernels::cuda {

void index_select(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t inner, const void* in,
                  const std::int64_t* index, std::int64_t count, void* out);
void index_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t inner, void* out,
               const std::int64_t* index, std::int64_t count, const void* src);
void gather(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t n, std::int64_t inner, const void* in,
            const std::int64_t* index, void* out);
void scatter_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner, void* out,
                 const std::int64_t* index, const void* src);

}  // namespace ember::kernels::cuda
