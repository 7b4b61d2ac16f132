#pragma once
// The CUDA GEMM in versions a learner can read and measure (bench/gemm_versions/README.md):
// C[m, n] = A[m, k] B[k, n], row-major, contiguous device buffers, f32, on the current stream.
// The fourth version, tensor cores through WMMA in f16/bf16, is kernels/cuda/tiled_gemm.cu.
// ember's ops use cuBLASLt; gemm_versions checks and times these against it.
#include <cstdint>

namespace ember::gemm_versions {

// 1. One thread per C element, threads of a warp on consecutive *rows*: each load of A and
//    each store of C by a warp touches 32 different cache lines.
void cuda_naive(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

// 2. The same arithmetic with the threads of a warp on consecutive *columns*: a warp's loads of
//    B and stores of C are one 128-byte transaction, and its loads of A one broadcast.
void cuda_coalesced(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

// 3. Shared-memory tiles: a block copies a 32 x 32 tile of A and of B into shared memory once,
//    and every thread reads its 32 operands from there: each global load is used 32 times.
void cuda_shared_tiles(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c);

}  // namespace ember::gemm_versions
