#pragma once
// ember's packed f32 GEMM itself, whatever the size: kernels/cpu/gemm.cpp's gemm() chooses it for
// large f32 products (and its bf16/f16 forms for every half product), Eigen's below. Exposed for
// bench/gemm_versions, which times it as the learner's third version.
#include <cstdint>

#include "kernels/operand.h"

namespace ember::kernels::cpu {

// C [m, n] (row stride ldc) = (+=) A [m, k] @ B [k, n], A and B row- or column-major.
void packed_gemm_f32(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const MatrixRef& a_ref,
                     const float* b, const MatrixRef& b_ref, float* c, std::int64_t ldc, bool accumulate);

}  // namespace ember::kernels::cpu
