#include "gemm_versions/cuda_gemm_versions.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/stream.h"

namespace ember::gemm_versions {

namespace {

constexpr int kTile = 32;

// Versions 1 and 2: one thread per element of C. The only difference is which index of C the
// threads of a warp step along: rows (naive) or columns (coalesced).
template <bool kWarpAlongColumns>
__global__ void one_thread_per_element(std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                                       const float* b, float* c) {
  const std::int64_t fast = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t slow = blockIdx.y * static_cast<std::int64_t>(blockDim.y) + threadIdx.y;
  const std::int64_t row = kWarpAlongColumns ? slow : fast, col = kWarpAlongColumns ? fast : slow;
  if (row >= m || col >= n) return;
  float dot = 0;
  for (std::int64_t p = 0; p < k; ++p) dot += a[row * k + p] * b[p * n + col];
  c[row * n + col] = dot;
}

__global__ void shared_tiles_kernel(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b,
                                    float* c) {
  __shared__ float a_tile[kTile][kTile];
  __shared__ float b_tile[kTile][kTile + 1];  // +1: no bank conflicts on column reads
  const int tx = threadIdx.x, ty = threadIdx.y;
  const std::int64_t col = blockIdx.x * static_cast<std::int64_t>(kTile) + tx;
  const std::int64_t row = blockIdx.y * static_cast<std::int64_t>(kTile) + ty;
  float dot = 0;
  for (std::int64_t p0 = 0; p0 < k; p0 += kTile) {
    // Each thread loads one element of each tile (zero past the edges), then all wait.
    a_tile[ty][tx] = row < m && p0 + tx < k ? a[row * k + p0 + tx] : 0.0f;
    b_tile[ty][tx] = p0 + ty < k && col < n ? b[(p0 + ty) * n + col] : 0.0f;
    __syncthreads();
    for (int p = 0; p < kTile; ++p) dot += a_tile[ty][p] * b_tile[p][tx];
    __syncthreads();  // before the next tiles overwrite these
  }
  if (row < m && col < n) c[row * n + col] = dot;
}

unsigned blocks(std::int64_t size, int per_block) { return static_cast<unsigned>((size + per_block - 1) / per_block); }

}  // namespace

void cuda_naive(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  const dim3 threads(kTile, kTile), grid(blocks(m, kTile), blocks(n, kTile));
  one_thread_per_element<false><<<grid, threads, 0, kernels::cuda::current_stream()>>>(m, n, k, a, b, c);
  EMBER_CUDA_CHECK_LAUNCH();
}

void cuda_coalesced(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  const dim3 threads(kTile, kTile), grid(blocks(n, kTile), blocks(m, kTile));
  one_thread_per_element<true><<<grid, threads, 0, kernels::cuda::current_stream()>>>(m, n, k, a, b, c);
  EMBER_CUDA_CHECK_LAUNCH();
}

void cuda_shared_tiles(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  const dim3 threads(kTile, kTile), grid(blocks(n, kTile), blocks(m, kTile));
  shared_tiles_kernel<<<grid, threads, 0, kernels::cuda::current_stream()>>>(m, n, k, a, b, c);
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace ember::gemm_versions
