#pragma once
// Index kernels on the GPU, with the CPU kernels' contract (kernels/cpu/index.h): contiguous
// buffers seen as [outer, n, inner]; index values already range-checked by the op layer.
//
// The accumulating kernels use no atomics, so their sums are the same on every run and equal to
// the CPU's. index_add (the backward of index_select, so of Embedding) sorts the index with
// CUB's radix sort, then one thread per (output row, column) adds that row's sources in order:
// O(count x inner) work however large the table. scatter_add gives each output element to one
// thread, which walks its column of the index and adds the sources that land on it (fine for
// the handful of classes of the losses' gathers).
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
