#include "gemm_versions/cpu_gemm_versions.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

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

namespace {

// 16 floats: one AVX-512 register (GCC's vector extension; the compiler picks the instructions).
using Vector = float __attribute__((vector_size(64)));
constexpr std::int64_t kLanes = 16;
constexpr std::int64_t kMr = 6;           // rows of the C block in registers
constexpr std::int64_t kNr = 2 * kLanes;  // its columns: two vectors
// Cache blocks: a kc x nc panel of B (kc = 256, nc = 1024: 1 MiB, L2/L3) and an mc x kc panel of
// A (mc = 96: 96 KiB, L2) packed once and reused across the whole block.
constexpr std::int64_t kKc = 256, kMc = 96, kNc = 1024;

Vector load(const float* p) {
  Vector v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
void store(float* p, const Vector& v) { std::memcpy(p, &v, sizeof(v)); }

// B[p0 + p, j0 + j] for p < kc, j < nc, as nc / kNr panels of kc rows of kNr floats (zero past
// the matrix's edge, so the micro-kernel needs no edge cases).
void pack_b(const float* b, std::int64_t n, std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc,
            float* packed) {
  for (std::int64_t jp = 0; jp < nc; jp += kNr) {
    for (std::int64_t p = 0; p < kc; ++p) {
      for (std::int64_t j = 0; j < kNr; ++j) {
        *packed++ = jp + j < nc ? b[(p0 + p) * n + j0 + jp + j] : 0.0f;
      }
    }
  }
}

// A[i0 + i, p0 + p] for i < mc, p < kc, as panels of kMr rows stored column by column.
void pack_a(const float* a, std::int64_t k, std::int64_t i0, std::int64_t mc, std::int64_t p0, std::int64_t kc,
            float* packed) {
  for (std::int64_t ip = 0; ip < mc; ip += kMr) {
    for (std::int64_t p = 0; p < kc; ++p) {
      for (std::int64_t i = 0; i < kMr; ++i) *packed++ = ip + i < mc ? a[(i0 + ip + i) * k + p0 + p] : 0.0f;
    }
  }
}

// C_block (kMr x kNr, row stride ldc) += packed A panel (kMr x kc) @ packed B panel (kc x kNr),
// writing only the rows x cols that lie inside C.
void micro_kernel(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc, std::int64_t rows,
                  std::int64_t cols) {
  Vector acc[kMr][2] = {};
  for (std::int64_t p = 0; p < kc; ++p) {
    const Vector b0 = load(b + p * kNr), b1 = load(b + p * kNr + kLanes);
    for (std::int64_t i = 0; i < kMr; ++i) {
      const float a_ip = a[p * kMr + i];
      acc[i][0] += a_ip * b0;
      acc[i][1] += a_ip * b1;
    }
  }
  if (rows == kMr && cols == kNr) {
    for (std::int64_t i = 0; i < kMr; ++i) {
      store(c + i * ldc, load(c + i * ldc) + acc[i][0]);
      store(c + i * ldc + kLanes, load(c + i * ldc + kLanes) + acc[i][1]);
    }
    return;
  }
  float block[kMr][kNr];
  for (std::int64_t i = 0; i < kMr; ++i) {
    store(block[i], acc[i][0]);
    store(block[i] + kLanes, acc[i][1]);
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) c[i * ldc + j] += block[i][j];
  }
}

}  // namespace

void cpu_micro_kernel(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  std::fill(c, c + m * n, 0.0f);
  for (std::int64_t j0 = 0; j0 < n; j0 += kNc) {
    const std::int64_t nc = std::min(kNc, n - j0);
    for (std::int64_t p0 = 0; p0 < k; p0 += kKc) {
      const std::int64_t kc = std::min(kKc, k - p0);
      std::vector<float> packed_b(static_cast<std::size_t>((nc + kNr - 1) / kNr * kNr * kc));
      pack_b(b, n, p0, kc, j0, nc, packed_b.data());
      // Each thread packs its own blocks of A and runs their micro-kernels.
#pragma omp parallel
      {
        std::vector<float> packed_a(static_cast<std::size_t>((kMc + kMr - 1) / kMr * kMr * kc));
#pragma omp for schedule(static)
        for (std::int64_t i0 = 0; i0 < m; i0 += kMc) {
          const std::int64_t mc = std::min(kMc, m - i0);
          pack_a(a, k, i0, mc, p0, kc, packed_a.data());
          for (std::int64_t jp = 0; jp < nc; jp += kNr) {
            for (std::int64_t ip = 0; ip < mc; ip += kMr) {
              micro_kernel(kc, packed_a.data() + ip * kc, packed_b.data() + jp * kc, c + (i0 + ip) * n + j0 + jp, n,
                           std::min(kMr, mc - ip), std::min(kNr, nc - jp));
            }
          }
        }
      }
    }
  }
}

}  // namespace ember::gemm_versions
