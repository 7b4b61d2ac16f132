#pragma once
// Reductions over the trailing dims of a strided buffer.
//
// The input's dims are split in two: the first `kept` dims index the outputs, the rest are
// reduced. The op layer permutes a tensor into that order (a view, no copy) before calling.
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/reduce.cpp and
// kernels/cuda/reduce.cu define them.
#include "kernels/op_kinds.h"
#include "kernels/operand.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// out[o] = op over the reduced dims of in, for each kept index o (row-major over the kept dims;
// `out` and `indices` are contiguous). sum writes `dtype` for floating inputs and i64 for the
// rest; max/min write `dtype` and, when `indices` is non-null, the flat position of the first
// extreme element within the reduced dims (NaN counts as the extreme, as in PyTorch).
using ReduceKernel = void(ReduceOp op, DType dtype, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
                          std::int64_t* indices);

namespace cpu {
ReduceKernel reduce;
}  // namespace cpu

namespace cuda {
ReduceKernel reduce;
}  // namespace cuda

}  // namespace ember::kernels
