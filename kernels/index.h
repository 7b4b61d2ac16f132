#pragma once
// Index kernels. Every buffer is contiguous and seen as [outer, n, inner], where n is the
// size of the indexed dim; index values were range-checked by the op layer.
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/index.cpp and
// kernels/cuda/index.cu define them.
#include <cstdint>

#include "kernels/scalar_type.h"

namespace ember::kernels {

// out[o, i, :] = in[o, index[i], :]; in is [outer, in_n, inner], out is [outer, count, inner].
using IndexSelectKernel = void(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t inner, const void* in,
                               const std::int64_t* index, std::int64_t count, void* out);
// out[o, index[i], :] += src[o, i, :] (the backward of index_select; repeated indices add up).
using IndexAddKernel = void(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t inner, void* out,
                            const std::int64_t* index, std::int64_t count, const void* src);
// out[o, j, i] = in[o, index[o, j, i], i]; in is [outer, in_n, inner], index/out [outer, n, inner].
using GatherKernel = void(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t n, std::int64_t inner,
                          const void* in, const std::int64_t* index, void* out);
// out[o, index[o, j, i], i] = src[o, j, i]; where an index repeats, one of its sources is written
// (which one is unspecified, as in PyTorch).
using ScatterKernel = void(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner,
                           void* out, const std::int64_t* index, const void* src);
// out[o, index[o, j, i], i] += src[o, j, i] (the backward of gather).
using ScatterAddKernel = void(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner,
                              void* out, const std::int64_t* index, const void* src);

namespace cpu {
IndexSelectKernel index_select;
IndexAddKernel index_add;
GatherKernel gather;
ScatterKernel scatter;
ScatterAddKernel scatter_add;
}  // namespace cpu

namespace cuda {
IndexSelectKernel index_select;
IndexAddKernel index_add;
GatherKernel gather;
ScatterKernel scatter;
ScatterAddKernel scatter_add;
}  // namespace cuda

}  // namespace ember::kernels
