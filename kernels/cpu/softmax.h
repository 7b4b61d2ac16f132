#pragma once
// Softmax and log-softmax over the last dim of a contiguous [rows, cols] buffer.
#include <cstdint>

#include "core/dtype.h"

namespace ember::kernels::cpu {

// out = softmax(in) row by row (log_softmax when `log`), subtracting the row max first so
// exp never overflows. Half types compute in f32.
void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log);

}  // namespace ember::kernels::cpu
