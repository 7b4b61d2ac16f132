#include "gemm_versions/cpu_gemm_versions.h"

#include <algorithm>

namespace ember::gemm_versions {

void cpu_naive(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
#pragma omp parallel for
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      float dot = 0;
      for (std::int64_t p = 0; p < k; ++p) dot += a[i * k + p] * b[p * n + j];
      c[i * n + j] = dot;
    }
  }
}

void cpu_blocked(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  // A 64 x 256 block of A (64 KiB) stays in L2 while it meets a 256 x 512 block of B; each row of
  // that B block (2 KiB) is in L1 while it updates a row of the C block.
  constexpr std::int64_t kRows = 64, kDepth = 256, kCols = 512;
  std::fill(c, c + m * n, 0.0f);
#pragma omp parallel for schedule(static)
  for (std::int64_t i0 = 0; i0 < m; i0 += kRows) {
    for (std::int64_t p0 = 0; p0 < k; p0 += kDepth) {
      for (std::int64_t j0 = 0; j0 < n; j0 += kCols) {
        const std::int64_t i1 = std::min(m, i0 + kRows), p1 = std::min(k, p0 + kDepth), j1 = std::min(n, j0 + kCols);
        for (std::int64_t i = i0; i < i1; ++i) {
          float* c_row = c + i * n;
          for (std::int64_t p = p0; p < p1; ++p) {
            const float a_ip = a[i * k + p];
            const float* b_row = b + p * n;
            for (std::int64_t j = j0; j < j1; ++j) c_row[j] += a_ip * b_row[j];
          }
        }
      }
    }
  }
}

}  // namespace ember::gemm_versions
