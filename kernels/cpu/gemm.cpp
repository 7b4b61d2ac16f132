// Matrix multiply on the CPU (kernels/gemm.h).
//
// Large f32 products and every f16/bf16 one go through ember's own packed GEMM (the scheme of
// GotoBLAS and BLIS; the learner's steps towards it are bench/gemm_versions): B is copied into
// panels of nr columns and A into panels of mr rows, converted to f32 on the way (so any layout,
// row- or column-major, and the half types cost one pass over the operands), and a micro-kernel
// keeps an mr x nr block of C in 2 mr vector registers, 2 mr fused multiply-adds per two loads
// (mr = 8 on AVX-512, 6 with 16 registers). The blocks of A (96 x 256) and B (256 x 1024) fit the
// caches and are reused across a whole block of C. The micro-kernel is compiled for each
// instruction set and chosen at run time (kernels/cpu/isa.h): AVX-512 (nr = 32), AVX2 + FMA and
// plain x86-64 (nr = 16); bf16 multiplies on the AVX512-BF16 dot-product instructions where the
// CPU has them. The packing and the micro-kernels are kernels/cpu/gemm_kernels.h; this file holds
// the loops over blocks and tiles. f64 (gradcheck's dtype, where speed does not matter) and
// narrow f32 products use Eigen's GEMM.
#include "kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/gemm_kernels.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

// --- the packed GEMM ----------------------------------------------------------------------------

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

// The depth of each slice when a product of depth k is cut into equal slices of at most
// `most` (288 as 2 x 144, not 256 + 32: a thin last slice would read and write all of C for few
// products; even, for bf16's pairs).
std::int64_t depth_slice(std::int64_t k, std::int64_t most) {
  const std::int64_t slices = (k + most - 1) / most;
  return round_up((k + slices - 1) / slices, 2);
}

// One tile of C (rows x cols of at most Kernel::mr x Kernel::nr, at `tile`, row stride ldc) (+)= the
// panels' product (B's rows at b_rows: gemm_kernels.h): straight into C where the tile is whole
// and C is f32, else through a block on the stack.
template <class Kernel, class TC, class BRows>
void multiply_tile(std::int64_t kc, const typename Kernel::PackedA* a_panel, const BRows& b_rows, TC* tile,
                   std::int64_t ldc, std::int64_t rows, std::int64_t cols, bool add) {
  constexpr std::int64_t mr = Kernel::mr, nr = Kernel::nr;
  if constexpr (std::is_same_v<TC, float>) {
    if (rows == mr && cols == nr) return Kernel::multiply(kc, a_panel, b_rows, tile, ldc, add);
  }
  float block[mr * nr];
  Kernel::multiply(kc, a_panel, b_rows, block, nr, false);
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
              const typename Kernel::PackedRows b_panel{packed_b + panel * Kernel::b_panel(kc)};
              const std::int64_t rows = std::min(mr, mc - ip), cols = std::min(nr, nc - jp);
              multiply_tile<Kernel>(kc, a_panel, b_panel, c + (i0 + ip) * ldc + j0 + jp, ldc, rows, cols, add);
            }
          }
        }
      }
    }
  }
}

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

// C [m, n] (+)= A @ B, A packed and B's panel of columns jp, jp + 1, ... jp + nr - 1 (its rows
// at every depth) given by panel_rows(jp): a PackedRows or an OffsetRows (gemm_kernels.h).
template <class Kernel, class PanelRows>
void multiply_panels(std::int64_t m, std::int64_t n, std::int64_t k, const typename Kernel::PackedA* packed_a,
                     const PanelRows& panel_rows, float* c, std::int64_t ldc, bool accumulate) {
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
      const auto b_rows = panel_rows(jp).from(Kernel::b_rows(p0));
      for (std::int64_t ip = 0; ip < m; ip += mr) {
        const typename Kernel::PackedA* a_panel = packed_a + ip / mr * Kernel::a_panel(k) + Kernel::a_panel(p0);
        multiply_tile<Kernel>(kc, a_panel, b_rows, c + ip * ldc + jp, ldc, std::min(mr, m - ip), std::min(nr, n - jp),
                              add);
      }
    }
  }
}

// Calls use.template operator()<Kernel>() with the kernel that multiplies panels in `layout`.
template <class Use>
void with_kernel_of(const PanelLayout& layout, const char* op, Use&& use) {
  auto checked = [&]<class Kernel>() {
    EMBER_CHECK(layout.columns == Kernel::nr, op, ": panels of ", layout.columns, " columns, but this CPU's kernel takes ",
                Kernel::nr);
    use.template operator()<Kernel>();
  };
  if (layout.pairs()) {
    EMBER_CHECK(cpu_isa() >= Isa::avx512_bf16, op, ": bf16 pairs need the AVX512-BF16 instructions");
    checked.template operator()<Bf16DotKernel>();
  } else {
    with_f32_kernel<float>(checked);
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
  with_kernel_of(layout, "multiply_packed", [&]<class Kernel>() {
    const auto* b = static_cast<const typename Kernel::PackedB*>(packed_b);
    auto panel_rows = [&](std::int64_t jp) { return typename Kernel::PackedRows{b + jp / Kernel::nr * Kernel::b_panel(k)}; };
    multiply_panels<Kernel>(m, n, k, static_cast<const typename Kernel::PackedA*>(packed_a), panel_rows, c, ldc,
                            accumulate);
  });
}

void multiply_in_place(const PanelLayout& layout, std::int64_t m, std::int64_t k, const void* packed_a, const void* b,
                       const std::int64_t* b_rows, float* c, std::int64_t ldc, bool accumulate) {
  with_kernel_of(layout, "multiply_in_place", [&]<class Kernel>() {
    const OffsetRows<typename Kernel::PackedB> rows{static_cast<const typename Kernel::PackedB*>(b), b_rows};
    multiply_panels<Kernel>(m, Kernel::nr, k, static_cast<const typename Kernel::PackedA*>(packed_a),
                            [&](std::int64_t) { return rows; }, c, ldc, accumulate);
  });
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
