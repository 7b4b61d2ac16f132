#pragma once
// Reductions on the GPU, with the CPU kernel's contract (kernels/cpu/reduce.h): the first
// `kept` dims of `sizes` index the outputs, the rest are reduced. One block per output; threads
// combine their partial results through warp shuffles and shared memory in a fixed tree, with
// no atomics, so a sum is the same on every run.
#include <cstddef>
#include <cstdint>

#include "core/scalar_type.h"
#include "kernels/op_kinds.h"
#include "kernels/operand.h"

namespace ember::kernels::cuda {

void reduce(ReduceOp op, DType dtype, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
            std::int64_t* indices);

}  // namespace ember::kernels::cuda
