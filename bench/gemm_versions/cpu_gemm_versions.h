#pragma once
// The CPU GEMM in versions, each a step a learner can read and measure
// (bench/gemm_versions/README.md): C[m, n] = A[m, k] B[k, n], f32, all row-major and contiguous.
// The third version, packing and a register micro-kernel, is the one ember's ops use
// (kernels/cpu/gemm.cpp); gemm_versions checks and times all three against Eigen's GEMM.
#include <cstdint>

namespace ember::gemm_versions {

// 1. The definition: for each C element, a dot product of a row of A and a column of B. The
//    column walk strides through B by n floats per step: a cache miss per multiply-add.
void cpu_naive(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

// 2. Loop order i-p-j and cache blocking: the inner loop runs along a row of B and of C
//    (contiguous, so the compiler vectorizes it), and blocks of A, B and C small enough for the
//    caches are reused many times before they are evicted. Rows of C split over the threads.
void cpu_blocked(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

}  // namespace ember::gemm_versions
