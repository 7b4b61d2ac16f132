#pragma once
// Matrix multiply. For b in [0, batch): C_b = A_b @ B_b (+ C_b when accumulate), with A_b [m, k],
// B_b [k, n] and C_b [m, n] row-major with row stride c_row_stride; operand X_b starts at
// X + b * x_batch_stride elements. f16/bf16 multiply in f32 and round once at the end.
//
// The signature is written once, as a function type; `GemmKernel gemm;` below declares the
// function for each device: kernels/cpu/gemm.cpp (Eigen) and kernels/cuda/gemm.cpp (cuBLASLt)
// define it.
#include <cstdint>

#include "kernels/operand.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// The two layouts of a rows x cols matrix every GEMM reads without a copy.
inline bool is_row_major(const MatrixRef& matrix, std::int64_t rows, std::int64_t cols) {
  return matrix.col_stride == 1 && (rows <= 1 || matrix.row_stride >= cols);
}
inline bool is_col_major(const MatrixRef& matrix, std::int64_t rows, std::int64_t cols) {
  return matrix.row_stride == 1 && (cols <= 1 || matrix.col_stride >= rows);
}
// Whether the GEMMs read `matrix` as it is (else the caller makes it contiguous).
inline bool gemm_layout_supported(const MatrixRef& matrix, std::int64_t rows, std::int64_t cols) {
  return is_row_major(matrix, rows, cols) || is_col_major(matrix, rows, cols);
}

using GemmKernel = void(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k,
                        const MatrixRef& a, std::int64_t a_batch_stride, const MatrixRef& b,
                        std::int64_t b_batch_stride, void* c, std::int64_t c_row_stride, std::int64_t c_batch_stride,
                        bool accumulate);

namespace cpu {
GemmKernel gemm;
}  // namespace cpu

namespace cuda {
GemmKernel gemm;
}  // namespace cuda

}  // namespace ember::kernels
