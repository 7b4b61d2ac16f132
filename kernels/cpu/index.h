#pragma once
// Index kernels. Every buffer is contiguous and seen as [outer, n, inner], where n is the
// size of the indexed dim; index values were range-checked by the op layer.
#include <cstdint>

#include "core/dtype.h"

namespace ember::kernels::cpu {

// out[o, i, :] = in[o, index[i], :]; in is [outer, in_n, inner], out is [outer, count, inner].
void index_select(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t inner, const void* in,
                  const std::int64_t* index, std::int64_t count, void* out);
// out[o, index[i], :] += src[o, i, :] (the backward of index_select; repeated indices add up).
void index_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t inner, void* out,
               const std::int64_t* index, std::int64_t count, const void* src);
// out[o, j, i] = in[o, index[o, j, i], i]; in is [outer, in_n, inner], index/out [outer, n, inner].
void gather(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t n, std::int64_t inner,
            const void* in, const std::int64_t* index, void* out);
// out[o, index[o, j, i], i] += src[o, j, i] (the backward of gather).
void scatter_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner,
                 void* out, const std::int64_t* index, const void* src);

}  // namespace ember::kernels::cpu
