#pragma once
// The CPU GEMM in three versions, each a step a learner can read and measure
// (bench/gemm_versions/README.md): C[m, n] = A[m, k] B[k, n], f32, all row-major and contiguous.
// ember's ops use Eigen's GEMM (kernels/cpu/gemm.cpp); gemm_versions checks and times these
// against it.
#include <cstdint>

namespace ember::gemm_versions {

// 1. The definition: for each C element, a dot product of a row of A and a column of B. The
//    column walk strides through B by n floats per step: a cache miss per multiply-add.
void cpu_naive(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

// 2. Loop order i-p-j and cache blocking: the inner loop runs along a row of B and of C
//    (contiguous, so the compiler vectorizes it), and blocks of A, B and C small enough for the
//    caches are reused many times before they are evicted. Rows of C split over the threads.
void cpu_blocked(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

// 3. Packing and a register micro-kernel, as in BLIS and GotoBLAS: B is copied into panels of
//    32 columns and A into panels of 6 rows, laid out in the order the micro-kernel reads them;
//    the micro-kernel keeps a 6 x 32 block of C in 12 vector registers and performs 12 fused
//    multiply-adds per two loads. Panels of C split over the threads.
void cpu_micro_kernel(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

}  // namespace ember::gemm_versions
