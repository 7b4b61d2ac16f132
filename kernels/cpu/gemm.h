#pragma once
// Matrix multiply on the CPU through Eigen's GEMM.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/operand.h"

namespace ember::kernels::cpu {

// Whether a rows x cols matrix is row- or column-major (else the caller makes it contiguous).
bool gemm_layout_supported(const MatrixRef& matrix, std::int64_t rows, std::int64_t cols);

// For b in [0, batch): C_b = A_b @ B_b (+ C_b when accumulate), with A_b [m, k], B_b [k, n] and
// C_b [m, n] row-major with row stride c_row_stride; operand X_b starts at X + b * x_batch_stride
// elements. f16/bf16 multiply in f32 and round once at the end.
void gemm(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
          std::int64_t a_batch_stride, const MatrixRef& b, std::int64_t b_batch_stride, void* c,
          std::int64_t c_row_stride, std::int64_t c_batch_stride, bool accumulate);

}  // namespace ember::kernels::cpu
