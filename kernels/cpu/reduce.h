#pragma once
// Reductions over the trailing dims of a strided buffer.
//
// The input's dims are split in two: the first `kept` dims index the outputs, the rest are
// reduced. The op layer permutes a tensor into that order (a view, no copy) before calling.
#include "core/dtype.h"
#include "kernels/op_kinds.h"
#include "kernels/operand.h"

namespace ember::kernels::cpu {


// out[o] = op over the reduced dims of in, for each kept index o (row-major over the kept dims;
// `out` and `indices` are contiguous). sum writes `dtype` for floating inputs and i64 for the
// rest; max/min write `dtype` and, when `indices` is non-null, the flat position of the first
// extreme element within the reduced dims (NaN counts as the extreme, as in PyTorch).
void reduce(ReduceOp op, DType dtype, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
            std::int64_t* indices);

}  // namespace ember::kernels::cpu
