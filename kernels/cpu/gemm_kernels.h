#pragma once
// The packed GEMM's kernels (kernels/cpu/gemm.cpp): for each instruction set, how A and B are
// packed into panels and the micro-kernel that multiplies one panel of each into a block of C
// held in registers. F32Kernel (plain x86-64, AVX2 + FMA, AVX-512) packs f32, converting f16 and
// bf16 on the way; Bf16DotKernel keeps bf16 in depth pairs for the AVX512-BF16 dot products. Each
// names its PackedA / PackedB types, its block (mr x nr), its panel depth, pack_a, pack_b and
// multiply, which is all the GEMM's loops (packed_gemm in gemm.cpp) know of it.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/transpose.h"
#include "kernels/dtype.h"
#include "kernels/operand.h"

namespace ember::kernels::cpu {

// Rows of the C block held in registers (its columns: Kernel::nr): 8 where there are 32 vector
// registers (AVX-512: 16 accumulators, 2 of B, a broadcast of A), 6 where there are 16 (AVX2 and
// plain x86-64: 12 accumulators). Eight also divides the channel counts of the models' convolutions
// (16 to 128), whose output channels are the rows of their products.
inline constexpr std::int64_t kWideMr = 8;
inline constexpr std::int64_t kNarrowMr = 6;
inline constexpr std::int64_t kKc = 256;         // depth of a packed f32 panel (bf16 pairs: twice as deep)

// B[p0 + p, j0 + j] for p < kc, j < nc as panels of nr columns, each kc rows of nr floats,
// zero past the matrix's edge so the micro-kernel has no edge cases. Each layout is read along
// its contiguous direction.
template <std::int64_t nr, class T>
void pack_b_floats(const T* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                   std::int64_t nc, float* packed) {
  for (std::int64_t jp = 0; jp < nc; jp += nr) {
    const std::int64_t width = std::min(nr, nc - jp);
    if (width < nr) std::fill(packed, packed + kc * nr, 0.0f);
    if (ref.col_stride == 1) {  // row-major: rows of the panel are contiguous
      for (std::int64_t p = 0; p < kc; ++p) {
        const T* source = b + (p0 + p) * ref.row_stride + j0 + jp;
        for (std::int64_t j = 0; j < width; ++j) packed[p * nr + j] = static_cast<float>(source[j]);
      }
    } else {  // column-major: columns are
      for (std::int64_t j = 0; j < width; ++j) {
        const T* source = b + (j0 + jp + j) * ref.col_stride + p0 * ref.row_stride;
        for (std::int64_t p = 0; p < kc; ++p) packed[p * nr + j] = static_cast<float>(source[p * ref.row_stride]);
      }
    }
    packed += kc * nr;
  }
}

// One 8-row panel of a row-major f32 A (`height` rows from `rows`, row stride lda, depth kc) on
// AVX-512: 16 depths at a time, the 8 rows' 16 values transposed in registers (with 8 rows of
// zeros), each of the 16 columns stored as 8 floats. Element by element, the panel's stores
// are 8 floats apart.
__attribute__((target("avx512f"))) inline void pack_a_rows_avx512(const float* rows, std::int64_t lda, std::int64_t height,
                                                            std::int64_t kc, float* packed) {
  std::int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    __m512 block[16];
    for (std::int64_t i = 0; i < 16; ++i) block[i] = i < height ? _mm512_loadu_ps(rows + i * lda + p) : _mm512_setzero_ps();
    transpose_16x16(block);
    for (std::int64_t t = 0; t < 16; ++t) _mm256_storeu_ps(packed + (p + t) * kWideMr, _mm512_castps512_ps256(block[t]));
  }
  // Copied as bytes: pack_a_pairs passes words of bf16 pairs as `rows`, neither floats nor
  // 4-byte aligned (the vector loads and stores above allow both).
  for (; p < kc; ++p) {
    for (std::int64_t i = 0; i < kWideMr; ++i) {
      float value = 0.0f;
      if (i < height) std::memcpy(&value, rows + i * lda + p, sizeof(value));
      std::memcpy(packed + p * kWideMr + i, &value, sizeof(value));
    }
  }
}

// A[i0 + i, p0 + p] for i < mc, p < kc as panels of mr rows, stored column by column.
template <std::int64_t mr, class T>
void pack_a_floats(const T* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                   std::int64_t kc, float* packed) {
  for (std::int64_t ip = 0; ip < mc; ip += mr) {
    const std::int64_t height = std::min(mr, mc - ip);
    if constexpr (std::is_same_v<T, float> && mr == kWideMr) {
      if (ref.col_stride == 1 && cpu_isa() >= Isa::avx512) {
        pack_a_rows_avx512(a + (i0 + ip) * ref.row_stride + p0, ref.row_stride, height, kc, packed);
        packed += kc * mr;
        continue;
      }
    }
    if (height < mr) std::fill(packed, packed + kc * mr, 0.0f);
    if (ref.col_stride == 1) {  // row-major: each row of the panel is contiguous
      for (std::int64_t i = 0; i < height; ++i) {
        const T* source = a + (i0 + ip + i) * ref.row_stride + p0;
        for (std::int64_t p = 0; p < kc; ++p) packed[p * mr + i] = static_cast<float>(source[p]);
      }
    } else {  // column-major: each column of it is
      for (std::int64_t p = 0; p < kc; ++p) {
        const T* source = a + (p0 + p) * ref.col_stride + (i0 + ip) * ref.row_stride;
        for (std::int64_t i = 0; i < height; ++i) packed[p * mr + i] = static_cast<float>(source[i * ref.row_stride]);
      }
    }
    packed += kc * mr;
  }
}

// Where a micro-kernel finds row p of its B panel (for bf16: pair row p): in a packed panel the
// rows follow one another; a convolution hands rows that lie at any offsets from one pointer
// instead (the columns of its window, read in place: kernels/cpu/conv_window.h).
template <class E, std::int64_t row_elements>
struct PackedRows {
  const E* b;
  const E* operator()(std::int64_t p) const { return b + p * row_elements; }
  PackedRows from(std::int64_t p) const { return {(*this)(p)}; }  // the rows from row p on
};
template <class E>
struct OffsetRows {
  const E* b;
  const std::int64_t* offsets;
  const E* operator()(std::int64_t p) const { return b + offsets[p]; }
  OffsetRows from(std::int64_t p) const { return {b, offsets + p}; }
};

// The Rows x 2 Lanes block of packed A panel (Rows x kc) times B panel (kc x 2 Lanes, row p at
// b_row(p)), written (or, with `add`, added) to C's block at `c` (row stride ldc), with vectors of
// Lanes floats (GCC's vector extension: the instructions are those of the function it is inlined
// into, below). The sums stay in registers from the first product to C.
template <int Lanes, std::int64_t Rows, class BRows>
[[gnu::always_inline]] inline void f32_micro_kernel(std::int64_t kc, const float* a, const BRows& b_row, float* c,
                                                    std::int64_t ldc, bool add) {
  using Vector [[gnu::vector_size(Lanes * sizeof(float))]] = float;
  constexpr std::int64_t nr = 2 * Lanes;
  // C's block is needed only after the products, but in a large C it is far from the core (a 2048
  // x 2048 f32 C is 16 MB): fetch its lines now, so that they arrive while the sums run.
  for (std::int64_t i = 0; i < Rows; ++i) {
    for (std::int64_t j = 0; j < nr; j += 64 / sizeof(float)) __builtin_prefetch(c + i * ldc + j, 1);
  }
  Vector acc[Rows][2];
  for (std::int64_t i = 0; i < Rows; ++i) acc[i][0] = acc[i][1] = Vector{};
  for (std::int64_t p = 0; p < kc; ++p) {
    const float* b = b_row(p);
    Vector b0, b1;  // unaligned loads (no helper function: it would not share the caller's target)
    std::memcpy(&b0, b, sizeof(Vector));
    std::memcpy(&b1, b + Lanes, sizeof(Vector));
    for (std::int64_t i = 0; i < Rows; ++i) {
      const float a_ip = a[p * Rows + i];
      acc[i][0] += a_ip * b0;
      acc[i][1] += a_ip * b1;
    }
  }
  for (std::int64_t i = 0; i < Rows; ++i) {
    for (std::int64_t half = 0; half < 2; ++half) {
      float* out = c + i * ldc + half * Lanes;
      if (add) {
        Vector before;
        std::memcpy(&before, out, sizeof(Vector));
        acc[i][half] += before;
      }
      std::memcpy(out, &acc[i][half], sizeof(Vector));
    }
  }
}

// The micro-kernel once per instruction set. 8 lanes on AVX2 (16 registers: 12 accumulators, 2
// of B, a broadcast of A) and on plain x86-64 (where each vector is two SSE registers, and the
// compiler spills); 16 on AVX-512 (32 registers).
template <class BRows>
void f32_micro_kernel_generic(std::int64_t kc, const float* a, const BRows& b, float* c, std::int64_t ldc, bool add) {
  f32_micro_kernel<8, kNarrowMr>(kc, a, b, c, ldc, add);
}
template <class BRows>
__attribute__((target("avx2,fma"))) void f32_micro_kernel_avx2(std::int64_t kc, const float* a, const BRows& b, float* c,
                                                               std::int64_t ldc, bool add) {
  f32_micro_kernel<8, kNarrowMr>(kc, a, b, c, ldc, add);
}
template <class BRows>
__attribute__((target("avx512f"))) void f32_micro_kernel_avx512(std::int64_t kc, const float* a, const BRows& b,
                                                                float* c, std::int64_t ldc, bool add) {
  f32_micro_kernel<16, kWideMr>(kc, a, b, c, ldc, add);
}

// The f32 kernel for instruction set `isa`: operands packed as f32 (converted from T on the way).
template <class T, Isa isa>
struct F32Kernel {
  using PackedA = float;
  using PackedB = float;
  static constexpr std::int64_t mr = isa >= Isa::avx512 ? kWideMr : kNarrowMr;
  static constexpr std::int64_t nr = isa >= Isa::avx512 ? 32 : 16;
  static constexpr std::int64_t depth = kKc;
  static std::int64_t a_panel(std::int64_t kc) { return mr * kc; }
  static std::int64_t b_panel(std::int64_t kc) { return nr * kc; }
  static std::int64_t b_rows(std::int64_t kc) { return kc; }  // rows of a B panel of depth kc
  using PackedRows = cpu::PackedRows<float, nr>;
  static void pack_a(const T* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, float* packed) {
    pack_a_floats<mr>(a, ref, i0, mc, p0, kc, packed);
  }
  static void pack_b(const T* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, float* packed) {
    pack_b_floats<nr>(b, ref, p0, kc, j0, nc, packed);
  }
  // b_row: where row p of the B panel lies (PackedRows, OffsetRows).
  template <class BRows>
  static void multiply(std::int64_t kc, const float* a, const BRows& b_row, float* c, std::int64_t ldc, bool add) {
    if constexpr (isa >= Isa::avx512) {
      f32_micro_kernel_avx512(kc, a, b_row, c, ldc, add);
    } else if constexpr (isa == Isa::avx2) {
      f32_micro_kernel_avx2(kc, a, b_row, c, ldc, add);
    } else {
      f32_micro_kernel_generic(kc, a, b_row, c, ldc, add);
    }
  }
};

// --- bf16 on the AVX512-BF16 dot-product instructions ---------------------------------------------
//
// VDPBF16PS multiplies pairs of bf16 values and adds both products to an f32 lane: twice the
// multiply-adds of an f32 FMA per instruction, from operands half the size. The packing keeps the
// values as bf16 and interleaves depth pairs: a panel of B holds, for each pair (p, p + 1), the 32
// columns' (B[p][j], B[p + 1][j]); a panel of A holds each row's (A[i][p], A[i][p + 1]) as one
// 32-bit word, broadcast to every lane. Chosen at run time, where the CPU has the instructions.

inline constexpr std::int64_t kBf16Nr = 32;  // one AVX-512 register of f32 sums per 16 columns, two per panel

inline std::uint16_t bits_of(bfloat16 x) { return Eigen::numext::bit_cast<std::uint16_t>(x); }

// B[p0 + p, j0 + j] as panels of kBf16Nr columns, each ceil(kc / 2) depth pairs of 2 kBf16Nr values
// (zero past the edges), read along the layout's contiguous direction.
inline void pack_b_pairs(const bfloat16* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                  std::int64_t nc, std::uint16_t* packed) {
  const std::int64_t pairs = (kc + 1) / 2;
  for (std::int64_t jp = 0; jp < nc; jp += kBf16Nr) {
    const std::int64_t width = std::min(kBf16Nr, nc - jp);
    if (width < kBf16Nr || kc % 2 != 0) std::fill(packed, packed + pairs * 2 * kBf16Nr, std::uint16_t{0});
    if (ref.col_stride == 1) {  // row-major: interleave two contiguous rows, a 32-bit pair per column
      for (std::int64_t p = 0; p < kc; p += 2) {
        // The rows as their bits, so the loop is integer shifts and ors that the compiler vectorizes.
        const auto* first = reinterpret_cast<const std::uint16_t*>(b + (p0 + p) * ref.row_stride + j0 + jp);
        const auto* second = first + ref.row_stride;
        std::uint16_t* out = packed + p / 2 * 2 * kBf16Nr;
        if (p + 1 < kc) {
          for (std::int64_t j = 0; j < width; ++j) {
            const std::uint32_t pair = first[j] | static_cast<std::uint32_t>(second[j]) << 16;
            std::memcpy(out + 2 * j, &pair, sizeof(pair));
          }
        } else {
          for (std::int64_t j = 0; j < width; ++j) out[2 * j] = first[j];
        }
      }
    } else {  // column-major: a column's consecutive pairs are adjacent in memory
      for (std::int64_t j = 0; j < width; ++j) {
        const bfloat16* column = b + (j0 + jp + j) * ref.col_stride + p0 * ref.row_stride;
        for (std::int64_t p = 0; p < kc; ++p) packed[p / 2 * 2 * kBf16Nr + 2 * j + p % 2] = bits_of(column[p * ref.row_stride]);
      }
    }
    packed += pairs * 2 * kBf16Nr;
  }
}

// A[i0 + i, p0 + p] as panels of kWideMr rows, each ceil(kc / 2) depth pairs of kWideMr words.
// In a row-major A with an even row stride a depth pair is one 32-bit word of its row, so a
// panel is the transpose of its rows' words: on AVX-512 pack_a_rows_avx512's, the words moved
// as if they were floats (the shuffles move bits), and an odd depth's last pair element by element.
inline void pack_a_pairs(const bfloat16* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                  std::int64_t kc, std::uint32_t* packed) {
  const bool by_words = ref.col_stride == 1 && ref.row_stride % 2 == 0 && p0 % 2 == 0 && cpu_isa() >= Isa::avx512;
  for (std::int64_t ip = 0; ip < mc; ip += kWideMr) {
    const std::int64_t height = std::min(kWideMr, mc - ip);
    std::int64_t p = 0;
    if (by_words) {
      const bfloat16* rows = a + (i0 + ip) * ref.row_stride + p0;
      pack_a_rows_avx512(reinterpret_cast<const float*>(rows), ref.row_stride / 2, height, kc / 2,
                         reinterpret_cast<float*>(packed));
      packed += kc / 2 * kWideMr;
      p = kc / 2 * 2;
    }
    for (; p < kc; p += 2) {
      for (std::int64_t i = 0; i < kWideMr; ++i) {
        const bfloat16* row = a + (i0 + ip + i) * ref.row_stride;
        const std::uint32_t low = i < height ? bits_of(row[(p0 + p) * ref.col_stride]) : 0;
        const std::uint32_t high = i < height && p + 1 < kc ? bits_of(row[(p0 + p + 1) * ref.col_stride]) : 0;
        packed[i] = low | high << 16;
      }
      packed += kWideMr;
    }
  }
}

// As f32_micro_kernel: the block of C at `c` (row stride ldc) = (or +=) the product, pair row q
// of B (2 kBf16Nr words) at b_row(q).
template <class BRows>
__attribute__((target("avx512f,avx512bf16"))) void micro_kernel_bf16(std::int64_t pairs, const std::uint32_t* a,
                                                                     const BRows& b_row, float* c, std::int64_t ldc,
                                                                     bool add) {
  for (std::int64_t i = 0; i < kWideMr; ++i) {  // C's lines on their way during the sums (f32_micro_kernel)
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + 16, 1);
  }
  __m512 acc[kWideMr][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
  for (std::int64_t q = 0; q < pairs; ++q) {
    const std::uint16_t* b = b_row(q);
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + kBf16Nr);
    for (std::int64_t i = 0; i < kWideMr; ++i) {
      const __m512bh a_pair = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[q * kWideMr + i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a_pair, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a_pair, b1);
    }
  }
  for (std::int64_t i = 0; i < kWideMr; ++i) {
    float* out = c + i * ldc;
    if (add) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(out));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(out + 16));
    }
    _mm512_storeu_ps(out, acc[i][0]);
    _mm512_storeu_ps(out + 16, acc[i][1]);
  }
}

struct Bf16DotKernel {
  using PackedA = std::uint32_t;
  using PackedB = std::uint16_t;
  static constexpr std::int64_t mr = kWideMr;
  static constexpr std::int64_t nr = kBf16Nr;
  static constexpr std::int64_t depth = 4 * kKc;  // twice f32's bytes per panel: half the slices, barriers and passes over C
  static std::int64_t pairs(std::int64_t kc) { return (kc + 1) / 2; }
  static std::int64_t a_panel(std::int64_t kc) { return mr * pairs(kc); }
  static std::int64_t b_panel(std::int64_t kc) { return 2 * kBf16Nr * pairs(kc); }
  static std::int64_t b_rows(std::int64_t kc) { return pairs(kc); }
  using PackedRows = cpu::PackedRows<std::uint16_t, 2 * kBf16Nr>;
  static void pack_a(const bfloat16* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, std::uint32_t* packed) {
    pack_a_pairs(a, ref, i0, mc, p0, kc, packed);
  }
  static void pack_b(const bfloat16* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, std::uint16_t* packed) {
    pack_b_pairs(b, ref, p0, kc, j0, nc, packed);
  }
  template <class BRows>
  static void multiply(std::int64_t kc, const std::uint32_t* a, const BRows& b_row, float* c, std::int64_t ldc,
                       bool add) {
    micro_kernel_bf16(pairs(kc), a, b_row, c, ldc, add);
  }
};

}  // namespace ember::kernels::cpu
