#pragma once
// ember's packed GEMM, for the CPU code that needs more than gemm() of kernels/gemm.h: the f32 form
// whatever the size (gemm() chooses it for f32 products of 64 columns or more and Eigen's below; the learner's
// runner, bench/gemm_versions, times it as its third version), and half operands with an f32
// result (the convolution's).
#include <cstdint>

#include "kernels/operand.h"
#include "kernels/scalar_type.h"

namespace ember::kernels::cpu {

// C [m, n] (row stride ldc) = (+=) A [m, k] @ B [k, n], A and B row- or column-major.
void packed_gemm_f32(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const MatrixRef& a_ref,
                     const float* b, const MatrixRef& b_ref, float* c, std::int64_t ldc, bool accumulate);

// The same with A and B in `dtype` (f16 or bf16; bf16 on the dot-product instructions where the
// CPU has them) and C in f32: for a caller that adds up several products without rounding
// between them (a convolution's chunks).
void half_gemm_f32_output(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
                          const MatrixRef& b, float* c, std::int64_t ldc, bool accumulate);

}  // namespace ember::kernels::cpu
