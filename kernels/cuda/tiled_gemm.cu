#include <mma.h>

#include "kernels/cuda/check.h"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/stream.h"
#include "kernels/cuda/tiled_gemm.h"

namespace ember::kernels::cuda {

namespace {

namespace wmma = nvcuda::wmma;

constexpr int kBlockM = 128, kBlockN = 128, kBlockK = 32;  // one block's tile of C, and its k step
constexpr int kWarpsM = 2, kWarpsN = 4;                    // 8 warps, each a 64 x 32 piece of the tile
constexpr int kThreads = 32 * kWarpsM * kWarpsN;
constexpr int kFragment = 16;                              // WMMA's 16 x 16 x 16 operation
constexpr int kFragmentsM = kBlockM / kWarpsM / kFragment;  // 4
constexpr int kFragmentsN = kBlockN / kWarpsN / kFragment;  // 2
// Shared rows padded by 8 elements (16 bytes) so that consecutive rows start in different banks.
constexpr int kPad = 8;
constexpr int kVector = 8;  // elements per 16-byte load
constexpr int kLoadsA = kBlockM * kBlockK / kVector / kThreads;  // 2 vectors of A per thread per step
constexpr int kLoadsB = kBlockK * kBlockN / kVector / kThreads;  // 2 of B

// Elements [row, col .. col + 8) of a row-major rows x cols matrix, zeros outside it: one 16-byte
// load when the vector is inside and aligned, element by element otherwise.
template <class T>
__device__ inline uint4 load_vector(const T* matrix, std::int64_t rows, std::int64_t cols, std::int64_t row,
                                    std::int64_t col, bool aligned) {
  if (aligned && row < rows && col + kVector <= cols) {
    return *reinterpret_cast<const uint4*>(matrix + row * cols + col);
  }
  uint4 packed;
  T* elements = reinterpret_cast<T*>(&packed);
  for (int i = 0; i < kVector; ++i) {
    elements[i] = row < rows && col + i < cols ? matrix[row * cols + col + i] : T(0.0f);
  }
  return packed;
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    tiled_gemm_kernel(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c, bool a_aligned,
                      bool b_aligned) {
  __shared__ alignas(32) T a_tile[kBlockM][kBlockK + kPad];
  __shared__ alignas(32) T b_tile[kBlockK][kBlockN + kPad];
  __shared__ alignas(32) float c_stage[kWarpsM * kWarpsN][kFragment][kFragment];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_row = warp / kWarpsN * kFragmentsM * kFragment;  // the warp's piece inside the tile
  const int warp_col = warp % kWarpsN * kFragmentsN * kFragment;
  const std::int64_t tile_row = blockIdx.y * static_cast<std::int64_t>(kBlockM);
  const std::int64_t tile_col = blockIdx.x * static_cast<std::int64_t>(kBlockN);

  // Which vectors of the A and B tiles this thread copies.
  auto a_place = [](int i, int& row, int& col) {
    const int v = threadIdx.x + i * kThreads;
    row = v / (kBlockK / kVector);
    col = v % (kBlockK / kVector) * kVector;
  };
  auto b_place = [](int i, int& row, int& col) {
    const int v = threadIdx.x + i * kThreads;
    row = v / (kBlockN / kVector);
    col = v % (kBlockN / kVector) * kVector;
  };
  uint4 a_next[kLoadsA], b_next[kLoadsB];
  auto load_step = [&](std::int64_t k0) {
    for (int i = 0; i < kLoadsA; ++i) {
      int row, col;
      a_place(i, row, col);
      a_next[i] = load_vector(a, m, k, tile_row + row, k0 + col, a_aligned);
    }
    for (int i = 0; i < kLoadsB; ++i) {
      int row, col;
      b_place(i, row, col);
      b_next[i] = load_vector(b, k, n, k0 + row, tile_col + col, b_aligned);
    }
  };
  auto store_step = [&]() {
    for (int i = 0; i < kLoadsA; ++i) {
      int row, col;
      a_place(i, row, col);
      *reinterpret_cast<uint4*>(&a_tile[row][col]) = a_next[i];
    }
    for (int i = 0; i < kLoadsB; ++i) {
      int row, col;
      b_place(i, row, col);
      *reinterpret_cast<uint4*>(&b_tile[row][col]) = b_next[i];
    }
  };

  wmma::fragment<wmma::accumulator, kFragment, kFragment, kFragment, float> acc[kFragmentsM][kFragmentsN];
  for (auto& row : acc) {
    for (auto& fragment : row) wmma::fill_fragment(fragment, 0.0f);
  }
  load_step(0);
  store_step();
  __syncthreads();
  for (std::int64_t k0 = 0; k0 < k; k0 += kBlockK) {
    const bool more = k0 + kBlockK < k;
    if (more) load_step(k0 + kBlockK);  // global loads in flight while the tensor cores work
    for (int kk = 0; kk < kBlockK; kk += kFragment) {
      wmma::fragment<wmma::matrix_a, kFragment, kFragment, kFragment, T, wmma::row_major> a_frag[kFragmentsM];
      wmma::fragment<wmma::matrix_b, kFragment, kFragment, kFragment, T, wmma::row_major> b_frag[kFragmentsN];
      for (int i = 0; i < kFragmentsM; ++i) {
        wmma::load_matrix_sync(a_frag[i], &a_tile[warp_row + i * kFragment][kk], kBlockK + kPad);
      }
      for (int j = 0; j < kFragmentsN; ++j) {
        wmma::load_matrix_sync(b_frag[j], &b_tile[kk][warp_col + j * kFragment], kBlockN + kPad);
      }
      for (int i = 0; i < kFragmentsM; ++i) {
        for (int j = 0; j < kFragmentsN; ++j) wmma::mma_sync(acc[i][j], a_frag[i], b_frag[j], acc[i][j]);
      }
    }
    __syncthreads();  // every warp is done reading the tiles
    if (more) {
      store_step();
      __syncthreads();
    }
  }

  // Epilogue: each 16 x 16 accumulator goes through shared memory, then every lane writes 8
  // elements of it (converted to T) where they fall inside C.
  float(*stage)[kFragment] = c_stage[warp];
  for (int i = 0; i < kFragmentsM; ++i) {
    for (int j = 0; j < kFragmentsN; ++j) {
      wmma::store_matrix_sync(&stage[0][0], acc[i][j], kFragment, wmma::mem_row_major);
      __syncwarp();
      const int row = lane / 2, col = lane % 2 * kVector;
      const std::int64_t out_row = tile_row + warp_row + i * kFragment + row;
      const std::int64_t out_col = tile_col + warp_col + j * kFragment + col;
      for (int e = 0; e < kVector; ++e) {
        if (out_row < m && out_col + e < n) c[out_row * n + out_col + e] = T(stage[row][col + e]);
      }
      __syncwarp();
    }
  }
}

bool aligned_rows(const void* data, std::int64_t cols) {
  return reinterpret_cast<std::uintptr_t>(data) % 16 == 0 && cols % kVector == 0;
}

}  // namespace

void tiled_gemm(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const void* a, const void* b, void* c) {
  EMBER_CHECK(dtype == DType::f16 || dtype == DType::bf16, "tiled_gemm: f16 or bf16 only (tensor cores), got ",
              dtype);
  EMBER_CHECK(m >= 0 && n >= 0 && k >= 0 && (m + kBlockM - 1) / kBlockM <= 65535, "tiled_gemm: unsupported sizes ",
              m, " x ", n, " x ", k);
  if (m == 0 || n == 0) return;
  const dim3 grid(static_cast<unsigned>((n + kBlockN - 1) / kBlockN), static_cast<unsigned>((m + kBlockM - 1) / kBlockM));
  const bool a_aligned = aligned_rows(a, k), b_aligned = aligned_rows(b, n);
  dispatch_floating(dtype, "tiled_gemm", [&]<class T>() {
    if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) {
      tiled_gemm_kernel<T><<<grid, kThreads, 0, current_stream()>>>(m, n, k, static_cast<const T*>(a),
                                                                    static_cast<const T*>(b), static_cast<T*>(c),
                                                                    a_aligned, b_aligned);
    }
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace ember::kernels::cuda
