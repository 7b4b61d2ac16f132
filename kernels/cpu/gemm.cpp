// Matrix multiply on the CPU (kernels/gemm.h).
//
// Large f32 products and every f16/bf16 one go through ember's own packed GEMM (the scheme of
// GotoBLAS and BLIS; the learner's steps towards it are bench/gemm_versions): B is copied into panels of 32 columns and
// A into panels of 6 rows, converted to f32 on the way (so any layout, row- or column-major, and
// the half types cost one pass over the operands), and a micro-kernel keeps a 6 x 32 block of C
// in 12 vector registers, 12 fused multiply-adds per two loads. The blocks of A (96 x 256) and
// B (256 x 1024) fit the caches and are reused across a whole block of C. bf16 multiplies on the
// AVX512-BF16 dot-product instructions where the CPU has them. f64 (gradcheck's dtype, where
// speed does not matter) and small f32 products use Eigen's GEMM.
#include "kernels/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

// --- the packed GEMM ----------------------------------------------------------------------------

// 16 floats: one AVX-512 register (GCC's vector extension; two AVX registers elsewhere).
using Vector = float __attribute__((vector_size(64)));
constexpr std::int64_t kLanes = 16;
constexpr std::int64_t kMr = 6;           // rows of the C block held in registers
constexpr std::int64_t kNr = 2 * kLanes;  // its columns: two vectors
constexpr std::int64_t kKc = 256;         // depth of a packed f32 panel (bf16 pairs: twice as deep)
constexpr std::int64_t kMc = 96;          // rows of a packed block of A (96 x 256 floats: L2)
constexpr std::int64_t kNc = 1024;        // columns of a packed block of B (256 x 1024 floats: L2/L3)
// f32 products of at least this many multiply-adds (about 400^3) take the packed GEMM, smaller
// ones Eigen's (see gemm() below).
constexpr std::int64_t kPackedFromFlops = std::int64_t{1} << 26;

Vector load(const float* p) {
  Vector v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
void store(float* p, const Vector& v) { std::memcpy(p, &v, sizeof(v)); }

std::int64_t round_up(std::int64_t value, std::int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// B[p0 + p, j0 + j] for p < kc, j < nc as panels of kNr columns, each kc rows of kNr floats,
// zero past the matrix's edge so the micro-kernel has no edge cases. Each layout is read along
// its contiguous direction.
template <class T>
void pack_b_floats(const T* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                   std::int64_t nc, float* packed) {
  for (std::int64_t jp = 0; jp < nc; jp += kNr) {
    const std::int64_t width = std::min(kNr, nc - jp);
    if (width < kNr) std::fill(packed, packed + kc * kNr, 0.0f);
    if (ref.col_stride == 1) {  // row-major: rows of the panel are contiguous
      for (std::int64_t p = 0; p < kc; ++p) {
        const T* source = b + (p0 + p) * ref.row_stride + j0 + jp;
        for (std::int64_t j = 0; j < width; ++j) packed[p * kNr + j] = static_cast<float>(source[j]);
      }
    } else {  // column-major: columns are
      for (std::int64_t j = 0; j < width; ++j) {
        const T* source = b + (j0 + jp + j) * ref.col_stride + p0 * ref.row_stride;
        for (std::int64_t p = 0; p < kc; ++p) packed[p * kNr + j] = static_cast<float>(source[p * ref.row_stride]);
      }
    }
    packed += kc * kNr;
  }
}

// A[i0 + i, p0 + p] for i < mc, p < kc as panels of kMr rows, stored column by column.
template <class T>
void pack_a_floats(const T* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                   std::int64_t kc, float* packed) {
  for (std::int64_t ip = 0; ip < mc; ip += kMr) {
    const std::int64_t height = std::min(kMr, mc - ip);
    if (height < kMr) std::fill(packed, packed + kc * kMr, 0.0f);
    if (ref.col_stride == 1) {  // row-major: each row of the panel is contiguous
      for (std::int64_t i = 0; i < height; ++i) {
        const T* source = a + (i0 + ip + i) * ref.row_stride + p0;
        for (std::int64_t p = 0; p < kc; ++p) packed[p * kMr + i] = static_cast<float>(source[p]);
      }
    } else {  // column-major: each column of it is
      for (std::int64_t p = 0; p < kc; ++p) {
        const T* source = a + (p0 + p) * ref.col_stride + (i0 + ip) * ref.row_stride;
        for (std::int64_t i = 0; i < height; ++i) packed[p * kMr + i] = static_cast<float>(source[i * ref.row_stride]);
      }
    }
    packed += kc * kMr;
  }
}

// The kMr x kNr block of packed A panel (kMr x kc) times packed B panel (kc x kNr), in `block`.
void micro_kernel(std::int64_t kc, const float* a, const float* b, float (&block)[kMr][kNr]) {
  Vector acc[kMr][2] = {};
  for (std::int64_t p = 0; p < kc; ++p) {
    const Vector b0 = load(b + p * kNr), b1 = load(b + p * kNr + kLanes);
    for (std::int64_t i = 0; i < kMr; ++i) {
      const float a_ip = a[p * kMr + i];
      acc[i][0] += a_ip * b0;
      acc[i][1] += a_ip * b1;
    }
  }
  for (std::int64_t i = 0; i < kMr; ++i) {
    store(block[i], acc[i][0]);
    store(block[i] + kLanes, acc[i][1]);
  }
}

// C[rows x cols block] (+)= block. `add` is false only for the first depth slice of a product
// that does not accumulate into C.
template <class T>
void write_block(const float (&block)[kMr][kNr], T* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                 bool add) {
  if constexpr (std::is_same_v<T, float>) {
    if (rows == kMr && cols == kNr) {  // the common case, in vectors
      for (std::int64_t i = 0; i < kMr; ++i) {
        for (std::int64_t half = 0; half < kNr; half += kLanes) {
          float* out = c + i * ldc + half;
          const Vector sum = load(block[i] + half);
          store(out, add ? load(out) + sum : sum);
        }
      }
      return;
    }
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      T& out = c[i * ldc + j];
      out = round_to<T>(block[i][j] + (add ? static_cast<float>(out) : 0.0f));
    }
  }
}

// A buffer of at least `size` elements, kept by the thread between calls (a convolution runs
// thousands of small products; fresh megabytes each time would cost a page fault per 4 KiB).
template <class E>
E* scratch(std::vector<E>& buffer, std::int64_t size) {
  if (static_cast<std::int64_t>(buffer.size()) < size) buffer.resize(static_cast<std::size_t>(size));
  return buffer.data();
}

// The f32 kernel: operands packed as f32 (converted from T on the way).
template <class T>
struct F32Kernel {
  using PackedA = float;
  using PackedB = float;
  static constexpr std::int64_t depth = kKc;
  static std::int64_t a_panel(std::int64_t kc) { return kMr * kc; }
  static std::int64_t b_panel(std::int64_t kc) { return kNr * kc; }
  static void pack_a(const T* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, float* packed) {
    pack_a_floats(a, ref, i0, mc, p0, kc, packed);
  }
  static void pack_b(const T* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, float* packed) {
    pack_b_floats(b, ref, p0, kc, j0, nc, packed);
  }
  static void multiply(std::int64_t kc, const float* a, const float* b, float (&block)[kMr][kNr]) {
    micro_kernel(kc, a, b, block);
  }
};

// C = A B (+ C), A and B of type T, C of type TC (T, or f32 for the partial sums of a half
// product), with Kernel's packing and micro-kernel: per block of kNc columns and slice of
// Kernel::depth, B's block is packed once (its panels split over the threads), then the threads take
// (block of A rows, panel of B) tiles of C.
template <class Kernel, class T, class TC>
void packed_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
                 const MatrixRef& b_ref, TC* c, std::int64_t ldc, bool accumulate) {
  using PackedA = typename Kernel::PackedA;
  using PackedB = typename Kernel::PackedB;
  if (k == 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, static_cast<TC>(0.0f));
    }
    return;
  }
  const bool threaded = !omp_in_parallel() && omp_get_max_threads() > 1 && m * n * k >= kParallelGrain * 8;
  thread_local std::vector<PackedB> packed_b_buffer;
  constexpr std::int64_t depth = Kernel::depth;
  PackedB* packed_b = scratch(packed_b_buffer, round_up(std::min(n, kNc), kNr) / kNr * Kernel::b_panel(depth));
  for (std::int64_t j0 = 0; j0 < n; j0 += kNc) {
    const std::int64_t nc = std::min(kNc, n - j0);
    const std::int64_t panels = (nc + kNr - 1) / kNr;
    for (std::int64_t p0 = 0; p0 < k; p0 += depth) {
      const std::int64_t kc = std::min(depth, k - p0);
      const bool add = accumulate || p0 > 0;
      const std::int64_t row_blocks = (m + kMc - 1) / kMc;
#pragma omp parallel if (threaded)
      {
#pragma omp for schedule(static)
        for (std::int64_t panel = 0; panel < panels; ++panel) {
          const std::int64_t jp = panel * kNr;
          Kernel::pack_b(b, b_ref, p0, kc, j0 + jp, std::min(kNr, nc - jp), packed_b + panel * Kernel::b_panel(kc));
        }
        thread_local std::vector<PackedA> packed_a_buffer;
        PackedA* packed_a = scratch(packed_a_buffer, round_up(kMc, kMr) / kMr * Kernel::a_panel(kc));
        std::int64_t packed_block = -1;  // the block of A rows packed_a holds
#pragma omp for collapse(2) schedule(static)
        for (std::int64_t row_block = 0; row_block < row_blocks; ++row_block) {
          for (std::int64_t panel = 0; panel < panels; ++panel) {
            const std::int64_t i0 = row_block * kMc, mc = std::min(kMc, m - i0), jp = panel * kNr;
            if (packed_block != row_block) {
              Kernel::pack_a(a, a_ref, i0, mc, p0, kc, packed_a);
              packed_block = row_block;
            }
            for (std::int64_t ip = 0; ip < mc; ip += kMr) {
              float block[kMr][kNr];
              Kernel::multiply(kc, packed_a + ip / kMr * Kernel::a_panel(kc), packed_b + panel * Kernel::b_panel(kc),
                               block);
              write_block(block, c + (i0 + ip) * ldc + j0 + jp, ldc, std::min(kMr, mc - ip), std::min(kNr, nc - jp),
                          add);
            }
          }
        }
      }
    }
  }
}

// --- bf16 on the AVX512-BF16 dot-product instructions ---------------------------------------------
//
// VDPBF16PS multiplies pairs of bf16 values and adds both products to an f32 lane: twice the
// multiply-adds of an f32 FMA per instruction, from operands half the size. The packing keeps the
// values as bf16 and interleaves depth pairs: a panel of B holds, for each pair (p, p + 1), the 32
// columns' (B[p][j], B[p + 1][j]); a panel of A holds each row's (A[i][p], A[i][p + 1]) as one
// 32-bit word, broadcast to every lane. Chosen at run time, where the CPU has the instructions.

bool cpu_has_avx512_bf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
  return has;
}

std::uint16_t bits_of(bfloat16 x) { return Eigen::numext::bit_cast<std::uint16_t>(x); }

// B[p0 + p, j0 + j] as panels of kNr columns, each ceil(kc / 2) depth pairs of 2 kNr values
// (zero past the edges), read along the layout's contiguous direction.
void pack_b_pairs(const bfloat16* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                  std::int64_t nc, std::uint16_t* packed) {
  const std::int64_t pairs = (kc + 1) / 2;
  for (std::int64_t jp = 0; jp < nc; jp += kNr) {
    const std::int64_t width = std::min(kNr, nc - jp);
    if (width < kNr || kc % 2 != 0) std::fill(packed, packed + pairs * 2 * kNr, std::uint16_t{0});
    if (ref.col_stride == 1) {  // row-major: interleave two contiguous rows
      for (std::int64_t p = 0; p < kc; p += 2) {
        const bfloat16* first = b + (p0 + p) * ref.row_stride + j0 + jp;
        std::uint16_t* out = packed + p / 2 * 2 * kNr;
        for (std::int64_t j = 0; j < width; ++j) out[2 * j] = bits_of(first[j]);
        if (p + 1 < kc) {
          const bfloat16* second = first + ref.row_stride;
          for (std::int64_t j = 0; j < width; ++j) out[2 * j + 1] = bits_of(second[j]);
        }
      }
    } else {  // column-major: a column's consecutive pairs are adjacent in memory
      for (std::int64_t j = 0; j < width; ++j) {
        const bfloat16* column = b + (j0 + jp + j) * ref.col_stride + p0 * ref.row_stride;
        for (std::int64_t p = 0; p < kc; ++p) packed[p / 2 * 2 * kNr + 2 * j + p % 2] = bits_of(column[p * ref.row_stride]);
      }
    }
    packed += pairs * 2 * kNr;
  }
}

// A[i0 + i, p0 + p] as panels of kMr rows, each ceil(kc / 2) depth pairs of kMr words.
void pack_a_pairs(const bfloat16* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                  std::int64_t kc, std::uint32_t* packed) {
  for (std::int64_t ip = 0; ip < mc; ip += kMr) {
    const std::int64_t height = std::min(kMr, mc - ip);
    for (std::int64_t p = 0; p < kc; p += 2) {
      for (std::int64_t i = 0; i < kMr; ++i) {
        const bfloat16* row = a + (i0 + ip + i) * ref.row_stride;
        const std::uint32_t low = i < height ? bits_of(row[(p0 + p) * ref.col_stride]) : 0;
        const std::uint32_t high = i < height && p + 1 < kc ? bits_of(row[(p0 + p + 1) * ref.col_stride]) : 0;
        packed[i] = low | high << 16;
      }
      packed += kMr;
    }
  }
}

__attribute__((target("avx512f,avx512bf16"))) void micro_kernel_bf16(std::int64_t pairs, const std::uint32_t* a,
                                                                        const std::uint16_t* b,
                                                                        float (&block)[kMr][kNr]) {
  __m512 acc[kMr][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
  for (std::int64_t q = 0; q < pairs; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * 2 * kNr);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * 2 * kNr + kNr);
    for (std::int64_t i = 0; i < kMr; ++i) {
      const __m512bh a_pair = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[q * kMr + i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a_pair, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a_pair, b1);
    }
  }
  for (std::int64_t i = 0; i < kMr; ++i) {
    _mm512_storeu_ps(block[i], acc[i][0]);
    _mm512_storeu_ps(block[i] + kLanes, acc[i][1]);
  }
}

struct Bf16DotKernel {
  using PackedA = std::uint32_t;
  using PackedB = std::uint16_t;
  static constexpr std::int64_t depth = 2 * kKc;  // the same bytes per panel as f32
  static std::int64_t pairs(std::int64_t kc) { return (kc + 1) / 2; }
  static std::int64_t a_panel(std::int64_t kc) { return kMr * pairs(kc); }
  static std::int64_t b_panel(std::int64_t kc) { return 2 * kNr * pairs(kc); }
  static void pack_a(const bfloat16* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, std::uint32_t* packed) {
    pack_a_pairs(a, ref, i0, mc, p0, kc, packed);
  }
  static void pack_b(const bfloat16* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, std::uint16_t* packed) {
    pack_b_pairs(b, ref, p0, kc, j0, nc, packed);
  }
  static void multiply(std::int64_t kc, const std::uint32_t* a, const std::uint16_t* b, float (&block)[kMr][kNr]) {
    micro_kernel_bf16(pairs(kc), a, b, block);
  }
};

// The packed GEMM of f16/bf16 operands with the best kernel this CPU has.
template <class T, class TC>
void half_packed_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
                      const MatrixRef& b_ref, TC* c, std::int64_t ldc, bool accumulate) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    if (cpu_has_avx512_bf16()) return packed_gemm<Bf16DotKernel>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate);
  }
  packed_gemm<F32Kernel<T>>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate);
}

// f16/bf16: products deeper than one slice sum in an f32 copy of C, rounded to T once at the end.
template <class T>
void half_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
               const MatrixRef& b_ref, T* c, std::int64_t ldc, bool accumulate) {
  const bool dot_kernel = std::is_same_v<T, bfloat16> && cpu_has_avx512_bf16();
  if (k <= (dot_kernel ? Bf16DotKernel::depth : F32Kernel<T>::depth)) {
    return half_packed_gemm<T, T>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate);
  }
  std::vector<float> sums(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) sums[i * n + j] = accumulate ? static_cast<float>(c[i * ldc + j]) : 0.0f;
  }
  half_packed_gemm<T, float>(m, n, k, a, a_ref, b, b_ref, sums.data(), n, true);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = static_cast<T>(sums[i * n + j]);
  }
}

// --- f32 and f64 through Eigen --------------------------------------------------------------------

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

// Calls use(map) with an Eigen map of `matrix` in whichever layout it has. A single row (or
// column) has no meaningful outer stride; Eigen still wants one at least the inner size.
template <class T, class Use>
void with_eigen_map(const T* data, std::int64_t rows, std::int64_t cols, const MatrixRef& matrix, Use&& use) {
  if (is_row_major(matrix, rows, cols)) {
    const std::int64_t outer = rows <= 1 ? std::max<std::int64_t>(cols, 1) : matrix.row_stride;
    use(Eigen::Map<const RowMajor<T>, 0, Stride>(data, rows, cols, Stride(outer)));
  } else {
    const std::int64_t outer = cols <= 1 ? std::max<std::int64_t>(rows, 1) : matrix.col_stride;
    use(Eigen::Map<const ColMajor<T>, 0, Stride>(data, rows, cols, Stride(outer)));
  }
}

template <class T>
void eigen_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
                const MatrixRef& b_ref, T* c, std::int64_t ldc, bool accumulate) {
  Eigen::Map<RowMajor<T>, 0, Stride> result(c, m, n, Stride(ldc));
  with_eigen_map(a, m, k, a_ref, [&](const auto& lhs) {
    with_eigen_map(b, k, n, b_ref, [&](const auto& rhs) {
      if (accumulate) {
        result.noalias() += lhs * rhs;
      } else {
        result.noalias() = lhs * rhs;
      }
    });
  });
}

}  // namespace

void packed_gemm_f32(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const MatrixRef& a_ref,
                     const float* b, const MatrixRef& b_ref, float* c, std::int64_t ldc, bool accumulate) {
  packed_gemm<F32Kernel<float>>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate);
}

void half_gemm_f32_output(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
                          const MatrixRef& b, float* c, std::int64_t ldc, bool accumulate) {
  EMBER_CHECK(dtype == DType::f16 || dtype == DType::bf16, "half_gemm_f32_output: expected f16 or bf16, got ", dtype);
  dispatch_floating(dtype, "matmul", [&]<class T>() {
    if constexpr (!std::is_same_v<compute_t<T>, T>) {
      half_packed_gemm<T, float>(m, n, k, static_cast<const T*>(a.data), a, static_cast<const T*>(b.data), b, c, ldc,
                                 accumulate);
    }
  });
}

void gemm(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
          std::int64_t a_batch_stride, const MatrixRef& b, std::int64_t b_batch_stride, void* c,
          std::int64_t c_row_stride, std::int64_t c_batch_stride, bool accumulate) {
  dispatch_floating(dtype, "matmul", [&]<class T>() {
    const T* a_data = static_cast<const T*>(a.data);
    const T* b_data = static_cast<const T*>(b.data);
    T* c_data = static_cast<T*>(c);
    auto one = [&](std::int64_t i) {
      const T* a_i = a_data + i * a_batch_stride;
      const T* b_i = b_data + i * b_batch_stride;
      T* c_i = c_data + i * c_batch_stride;
      if constexpr (std::is_same_v<T, double>) {
        eigen_gemm(m, n, k, a_i, a, b_i, b, c_i, c_row_stride, accumulate);
      } else if constexpr (std::is_same_v<T, float>) {
        // Measured on the models' shapes: the packed GEMM matches Eigen's on large products and
        // loses up to 10% on the small ones convolutions cut their work into.
        if (m * n * k >= kPackedFromFlops) {
          packed_gemm_f32(m, n, k, a_i, a, b_i, b, c_i, c_row_stride, accumulate);
        } else {
          eigen_gemm(m, n, k, a_i, a, b_i, b, c_i, c_row_stride, accumulate);
        }
      } else {
        half_gemm<T>(m, n, k, a_i, a, b_i, b, c_i, c_row_stride, accumulate);
      }
    };
    if (batch == 1) {
      one(0);  // a single product parallelizes itself
      return;
    }
    // Several products: one per thread (each runs serially inside the parallel region).
    parallel_for(batch, m * n * k, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) one(i);
    });
  });
}

}  // namespace ember::kernels::cpu
