// Matrix multiply on the CPU (kernels/gemm.h).
//
// Large f32 products and every f16/bf16 one go through ember's own packed GEMM (the scheme of
// GotoBLAS and BLIS; the learner's steps towards it are bench/gemm_versions): B is copied into
// panels of nr columns and A into panels of mr rows, converted to f32 on the way (so any layout,
// row- or column-major, and the half types cost one pass over the operands), and a micro-kernel
// keeps an mr x nr block of C in 2 mr vector registers, 2 mr fused multiply-adds per two loads
// (mr = 8 on AVX-512, 6 with 16 registers). The blocks of A (96 x 256) and B (256 x 1024) fit the
// caches and are reused across a whole block of C. The micro-kernel is compiled for each instruction set and chosen at run time
// (kernels/cpu/isa.h): AVX-512 (nr = 32), AVX2 + FMA and plain x86-64 (nr = 16); bf16 multiplies
// on the AVX512-BF16 dot-product instructions where the CPU has them. f64 (gradcheck's dtype,
// where speed does not matter) and narrow f32 products use Eigen's GEMM.
#include "kernels/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/transpose.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

// --- the packed GEMM ----------------------------------------------------------------------------

// Rows of the C block held in registers (its columns: Kernel::nr): 8 where there are 32 vector
// registers (AVX-512: 16 accumulators, 2 of B, a broadcast of A), 6 where there are 16 (AVX2 and
// plain x86-64: 12 accumulators). Eight also divides the channel counts of the models' convolutions
// (16 to 128), whose output channels are the rows of their products.
constexpr std::int64_t kWideMr = 8;
constexpr std::int64_t kNarrowMr = 6;
constexpr std::int64_t kKc = 256;         // depth of a packed f32 panel (bf16 pairs: twice as deep)
constexpr std::int64_t kMc = 96;          // rows of a packed block of A (96 x 256 floats: L2)
constexpr std::int64_t kNc = 1024;        // columns of a packed block of B (256 x 1024 floats: L2/L3)
// f32 products with at least this many columns take the packed GEMM, narrower ones Eigen's
// (see gemm() below).
constexpr std::int64_t kPackedFromColumns = 64;

// The widest instructions this file (and Eigen's GEMM in it) was compiled for: the build's
// -march. A portable build (EMBER_NATIVE=OFF) is compiled for plain x86-64.
#if defined(__AVX512F__)
constexpr Isa kCompiledIsa = Isa::avx512;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr Isa kCompiledIsa = Isa::avx2;
#else
constexpr Isa kCompiledIsa = Isa::generic;
#endif

std::int64_t round_up(std::int64_t value, std::int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

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
__attribute__((target("avx512f"))) void pack_a_rows_avx512(const float* rows, std::int64_t lda, std::int64_t height,
                                                            std::int64_t kc, float* packed) {
  std::int64_t p = 0;
  for (; p + 16 <= kc; p += 16) {
    __m512 block[16];
    for (std::int64_t i = 0; i < 16; ++i) block[i] = i < height ? _mm512_loadu_ps(rows + i * lda + p) : _mm512_setzero_ps();
    transpose_16x16(block);
    for (std::int64_t t = 0; t < 16; ++t) _mm256_storeu_ps(packed + (p + t) * kWideMr, _mm512_castps512_ps256(block[t]));
  }
  for (; p < kc; ++p) {
    for (std::int64_t i = 0; i < kWideMr; ++i) packed[p * kWideMr + i] = i < height ? rows[i * lda + p] : 0.0f;
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

// The Rows x 2 Lanes block of packed A panel (Rows x kc) times packed B panel (kc x 2 Lanes),
// written (or, with `add`, added) to C's block at `c` (row stride ldc), with vectors of Lanes
// floats (GCC's vector extension: the instructions are those of the function it is inlined into,
// below). The sums stay in registers from the first product to C.
template <int Lanes, std::int64_t Rows>
[[gnu::always_inline]] inline void f32_micro_kernel(std::int64_t kc, const float* a, const float* b, float* c,
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
    Vector b0, b1;  // unaligned loads (no helper function: it would not share the caller's target)
    std::memcpy(&b0, b + p * nr, sizeof(Vector));
    std::memcpy(&b1, b + p * nr + Lanes, sizeof(Vector));
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
void f32_micro_kernel_generic(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc, bool add) {
  f32_micro_kernel<8, kNarrowMr>(kc, a, b, c, ldc, add);
}
__attribute__((target("avx2,fma"))) void f32_micro_kernel_avx2(std::int64_t kc, const float* a, const float* b,
                                                                float* c, std::int64_t ldc, bool add) {
  f32_micro_kernel<8, kNarrowMr>(kc, a, b, c, ldc, add);
}
__attribute__((target("avx512f"))) void f32_micro_kernel_avx512(std::int64_t kc, const float* a, const float* b,
                                                                 float* c, std::int64_t ldc, bool add) {
  f32_micro_kernel<16, kWideMr>(kc, a, b, c, ldc, add);
}

// C[rows x cols block] (+)= block (rows of nr floats): the tiles at C's edges, and those of
// a C in f16/bf16. `add` is false only for the first depth slice of a product that does not
// accumulate into C.
template <std::int64_t nr, class T>
void write_block(const float* block, T* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols, bool add) {
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      T& out = c[i * ldc + j];
      out = round_to<T>(block[i * nr + j] + (add ? static_cast<float>(out) : 0.0f));
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
  static void pack_a(const T* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, float* packed) {
    pack_a_floats<mr>(a, ref, i0, mc, p0, kc, packed);
  }
  static void pack_b(const T* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, float* packed) {
    pack_b_floats<nr>(b, ref, p0, kc, j0, nc, packed);
  }
  static void multiply(std::int64_t kc, const float* a, const float* b, float* c, std::int64_t ldc, bool add) {
    if constexpr (isa >= Isa::avx512) {
      f32_micro_kernel_avx512(kc, a, b, c, ldc, add);
    } else if constexpr (isa == Isa::avx2) {
      f32_micro_kernel_avx2(kc, a, b, c, ldc, add);
    } else {
      f32_micro_kernel_generic(kc, a, b, c, ldc, add);
    }
  }
};

// The depth of each slice when a product of depth k is cut into equal slices of at most
// `most` (288 as 2 x 144, not 256 + 32: a thin last slice would read and write all of C for few
// products; even, for bf16's pairs).
std::int64_t depth_slice(std::int64_t k, std::int64_t most) {
  const std::int64_t slices = (k + most - 1) / most;
  return round_up((k + slices - 1) / slices, 2);
}

// One tile of C (rows x cols of at most Kernel::mr x Kernel::nr, at `tile`, row stride ldc) (+)= the
// packed panels' product: straight into C where the tile is whole and C is f32, else through a
// block on the stack.
template <class Kernel, class TC>
void multiply_tile(std::int64_t kc, const typename Kernel::PackedA* a_panel, const typename Kernel::PackedB* b_panel,
                   TC* tile, std::int64_t ldc, std::int64_t rows, std::int64_t cols, bool add) {
  constexpr std::int64_t mr = Kernel::mr, nr = Kernel::nr;
  if constexpr (std::is_same_v<TC, float>) {
    if (rows == mr && cols == nr) return Kernel::multiply(kc, a_panel, b_panel, tile, ldc, add);
  }
  float block[mr * nr];
  Kernel::multiply(kc, a_panel, b_panel, block, nr, false);
  write_block<nr>(block, tile, ldc, rows, cols, add);
}

// Calls use.template operator()<F32Kernel<T, isa>>() for this CPU's instruction set.
template <class T, class Use>
void with_f32_kernel(Use&& use) {
  switch (cpu_isa()) {
    case Isa::generic: return use.template operator()<F32Kernel<T, Isa::generic>>();
    case Isa::avx2: return use.template operator()<F32Kernel<T, Isa::avx2>>();
    case Isa::avx512:
    case Isa::avx512_bf16: return use.template operator()<F32Kernel<T, Isa::avx512>>();
  }
}

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
  constexpr std::int64_t mr = Kernel::mr, nr = Kernel::nr;
  PackedB* packed_b = scratch(packed_b_buffer, round_up(std::min(n, kNc), nr) / nr * Kernel::b_panel(depth));
  const std::int64_t slice = depth_slice(k, depth);
  for (std::int64_t j0 = 0; j0 < n; j0 += kNc) {
    const std::int64_t nc = std::min(kNc, n - j0);
    const std::int64_t panels = (nc + nr - 1) / nr;
    for (std::int64_t p0 = 0; p0 < k; p0 += slice) {
      const std::int64_t kc = std::min(slice, k - p0);
      const bool add = accumulate || p0 > 0;
      const std::int64_t row_blocks = (m + kMc - 1) / kMc;
#pragma omp parallel if (threaded)
      {
#pragma omp for schedule(static)
        for (std::int64_t panel = 0; panel < panels; ++panel) {
          const std::int64_t jp = panel * nr;
          Kernel::pack_b(b, b_ref, p0, kc, j0 + jp, std::min(nr, nc - jp), packed_b + panel * Kernel::b_panel(kc));
        }
        thread_local std::vector<PackedA> packed_a_buffer;
        PackedA* packed_a = scratch(packed_a_buffer, round_up(kMc, mr) / mr * Kernel::a_panel(kc));
        std::int64_t packed_block = -1;  // the block of A rows packed_a holds
#pragma omp for collapse(2) schedule(static)
        for (std::int64_t row_block = 0; row_block < row_blocks; ++row_block) {
          for (std::int64_t panel = 0; panel < panels; ++panel) {
            const std::int64_t i0 = row_block * kMc, mc = std::min(kMc, m - i0), jp = panel * nr;
            if (packed_block != row_block) {
              Kernel::pack_a(a, a_ref, i0, mc, p0, kc, packed_a);
              packed_block = row_block;
            }
            for (std::int64_t ip = 0; ip < mc; ip += mr) {
              const PackedA* a_panel = packed_a + ip / mr * Kernel::a_panel(kc);
              const PackedB* b_panel = packed_b + panel * Kernel::b_panel(kc);
              const std::int64_t rows = std::min(mr, mc - ip), cols = std::min(nr, nc - jp);
              multiply_tile<Kernel>(kc, a_panel, b_panel, c + (i0 + ip) * ldc + j0 + jp, ldc, rows, cols, add);
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

constexpr std::int64_t kBf16Nr = 32;  // one AVX-512 register of f32 sums per 16 columns, two per panel

std::uint16_t bits_of(bfloat16 x) { return Eigen::numext::bit_cast<std::uint16_t>(x); }

// B[p0 + p, j0 + j] as panels of kBf16Nr columns, each ceil(kc / 2) depth pairs of 2 kBf16Nr values
// (zero past the edges), read along the layout's contiguous direction.
void pack_b_pairs(const bfloat16* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
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
void pack_a_pairs(const bfloat16* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
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

// As f32_micro_kernel: the block of C at `c` (row stride ldc) = (or +=) the product.
__attribute__((target("avx512f,avx512bf16"))) void micro_kernel_bf16(std::int64_t pairs, const std::uint32_t* a,
                                                                        const std::uint16_t* b, float* c,
                                                                        std::int64_t ldc, bool add) {
  for (std::int64_t i = 0; i < kWideMr; ++i) {  // C's lines on their way during the sums (f32_micro_kernel)
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + 16, 1);
  }
  __m512 acc[kWideMr][2];
  for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
  for (std::int64_t q = 0; q < pairs; ++q) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * 2 * kBf16Nr);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * 2 * kBf16Nr + kBf16Nr);
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
  static constexpr std::int64_t depth = 2 * kKc;  // the same bytes per panel as f32
  static std::int64_t pairs(std::int64_t kc) { return (kc + 1) / 2; }
  static std::int64_t a_panel(std::int64_t kc) { return mr * pairs(kc); }
  static std::int64_t b_panel(std::int64_t kc) { return 2 * kBf16Nr * pairs(kc); }
  static void pack_a(const bfloat16* a, const MatrixRef& ref, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, std::uint32_t* packed) {
    pack_a_pairs(a, ref, i0, mc, p0, kc, packed);
  }
  static void pack_b(const bfloat16* b, const MatrixRef& ref, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, std::uint16_t* packed) {
    pack_b_pairs(b, ref, p0, kc, j0, nc, packed);
  }
  static void multiply(std::int64_t kc, const std::uint32_t* a, const std::uint16_t* b, float* c, std::int64_t ldc,
                       bool add) {
    micro_kernel_bf16(pairs(kc), a, b, c, ldc, add);
  }
};

// The packed GEMM of f16/bf16 operands with the best kernel this CPU has.
template <class T, class TC>
void half_packed_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
                      const MatrixRef& b_ref, TC* c, std::int64_t ldc, bool accumulate) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    if (cpu_isa() >= Isa::avx512_bf16) return packed_gemm<Bf16DotKernel>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate);
  }
  with_f32_kernel<T>([&]<class Kernel>() { packed_gemm<Kernel>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate); });
}

// f16/bf16: products deeper than one slice sum in an f32 copy of C, rounded to T once at the end.
template <class T>
void half_gemm(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
               const MatrixRef& b_ref, T* c, std::int64_t ldc, bool accumulate) {
  const bool dot_kernel = std::is_same_v<T, bfloat16> && cpu_isa() >= Isa::avx512_bf16;
  if (k <= (dot_kernel ? Bf16DotKernel::depth : kKc)) {
    return half_packed_gemm<T, T>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate);
  }
  thread_local std::vector<float> sums_buffer;  // kept: a fresh buffer would fault in its pages on every call
  float* sums = scratch(sums_buffer, m * n);
  if (accumulate) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) sums[i * n + j] = static_cast<float>(c[i * ldc + j]);
    }
  }
  half_packed_gemm<T, float>(m, n, k, a, a_ref, b, b_ref, sums, n, accumulate);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = round_to<T>(sums[i * n + j]);
  }
}

// --- operands the caller packed (packed_gemm.h) -------------------------------------------------

// Calls use.template operator()<Kernel>() with the kernel that packs and multiplies operands of
// type T on this CPU.
template <class T, class Use>
void with_kernel_for(Use&& use) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    if (cpu_isa() >= Isa::avx512_bf16) return use.template operator()<Bf16DotKernel>();
  }
  with_f32_kernel<T>(use);
}

template <class Kernel>
void multiply_packed_panels(std::int64_t m, std::int64_t n, std::int64_t k, const typename Kernel::PackedA* packed_a,
                            const typename Kernel::PackedB* packed_b, float* c, std::int64_t ldc, bool accumulate) {
  constexpr std::int64_t mr = Kernel::mr, nr = Kernel::nr;
  if (k == 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return;
  }
  const std::int64_t slice = depth_slice(k, Kernel::depth);
  // Per slice of depth, each panel of B is read once into L1 and multiplied by every panel of A.
  for (std::int64_t p0 = 0; p0 < k; p0 += slice) {
    const std::int64_t kc = std::min(slice, k - p0);
    const bool add = accumulate || p0 > 0;
    for (std::int64_t jp = 0; jp < n; jp += nr) {
      const typename Kernel::PackedB* b_panel = packed_b + jp / nr * Kernel::b_panel(k) + Kernel::b_panel(p0);
      for (std::int64_t ip = 0; ip < m; ip += mr) {
        const typename Kernel::PackedA* a_panel = packed_a + ip / mr * Kernel::a_panel(k) + Kernel::a_panel(p0);
        multiply_tile<Kernel>(kc, a_panel, b_panel, c + ip * ldc + jp, ldc, std::min(mr, m - ip),
                              std::min(nr, n - jp), add);
      }
    }
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
  with_f32_kernel<float>([&]<class Kernel>() { packed_gemm<Kernel>(m, n, k, a, a_ref, b, b_ref, c, ldc, accumulate); });
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

PanelLayout panel_layout(DType dtype) {
  PanelLayout layout{DType::f32, 0, 0};
  dispatch_floating(dtype, "panel_layout", [&]<class T>() {
    with_kernel_for<T>([&]<class Kernel>() {
      layout.packed = std::is_same_v<Kernel, Bf16DotKernel> ? DType::bf16 : DType::f32;
      layout.rows = Kernel::mr;
      layout.columns = Kernel::nr;
    });
  });
  return layout;
}

void pack_lhs(DType dtype, std::int64_t m, std::int64_t k, const MatrixRef& a, void* packed) {
  EMBER_CHECK(dtype != DType::f64, "pack_lhs: f64 products go through Eigen, not the packed kernels");
  dispatch_floating(dtype, "pack_lhs", [&]<class T>() {
    with_kernel_for<T>([&]<class Kernel>() {
      Kernel::pack_a(static_cast<const T*>(a.data), a, 0, m, 0, k, static_cast<typename Kernel::PackedA*>(packed));
    });
  });
}

void pack_rhs(DType dtype, std::int64_t k, std::int64_t n, const MatrixRef& b, void* packed) {
  EMBER_CHECK(dtype != DType::f64, "pack_rhs: f64 products go through Eigen, not the packed kernels");
  dispatch_floating(dtype, "pack_rhs", [&]<class T>() {
    with_kernel_for<T>([&]<class Kernel>() {
      Kernel::pack_b(static_cast<const T*>(b.data), b, 0, k, 0, n, static_cast<typename Kernel::PackedB*>(packed));
    });
  });
}

void multiply_packed(const PanelLayout& layout, std::int64_t m, std::int64_t n, std::int64_t k, const void* packed_a,
                     const void* packed_b, float* c, std::int64_t ldc, bool accumulate) {
  auto multiply = [&]<class Kernel>() {
    EMBER_CHECK(layout.columns == Kernel::nr, "multiply_packed: panels of ", layout.columns,
                " columns, but this CPU's kernel takes ", Kernel::nr);
    multiply_packed_panels<Kernel>(m, n, k, static_cast<const typename Kernel::PackedA*>(packed_a),
                                   static_cast<const typename Kernel::PackedB*>(packed_b), c, ldc, accumulate);
  };
  if (layout.pairs()) {
    EMBER_CHECK(cpu_isa() >= Isa::avx512_bf16, "multiply_packed: bf16 pairs need the AVX512-BF16 instructions");
    multiply.template operator()<Bf16DotKernel>();
  } else {
    with_f32_kernel<float>(multiply);
  }
}

void gemm(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
          std::int64_t a_batch_stride, const MatrixRef& b, std::int64_t b_batch_stride, void* c,
          std::int64_t c_row_stride, std::int64_t c_batch_stride, bool accumulate) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
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
        // Measured on the models' shapes (bench/README.md): the packed GEMM beats Eigen's by up
        // to 1.5x once C is two panels wide, and loses on narrower products (a classifier's 10
        // outputs) and on fewer rows than a tile holds, where its tiles are mostly padding;
        // unless the CPU has wider vectors than Eigen was compiled for (a portable build on a
        // newer machine), where it wins at any width.
        if ((n >= kPackedFromColumns && m >= kNarrowMr) || std::min(cpu_isa(), Isa::avx512) > kCompiledIsa) {
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
