#pragma once
// Softmax / log-softmax over the last dim of a contiguous [rows, cols] buffer on the GPU, with
// the CPU kernel's contract (kernels/cpu/softmax.h). One block per row: the row max, then the
// sum of exp(x - max), each by a block reduction, then one pass that writes the row.
#include <cstdint>

#include "core/scalar_type.h"

namespace ember::kernels::cuda {

void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log);

}  // namespace ember::kernels::cuda
