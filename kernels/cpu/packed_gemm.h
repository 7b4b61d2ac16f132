#pragma once
// ember's packed GEMM, for the CPU code that needs more than gemm() of kernels/gemm.h: the f32 form
// whatever the size (gemm() chooses it for f32 products of 64 columns or more and Eigen's below; the learner's
// runner, bench/gemm_versions, times it as its third version), and half operands with an f32
// result (the convolution's).
#include <cstdint>

#include "kernels/operand.h"
#include "kernels/scalar_type.h"

namespace ember::kernels::cpu {

// C [m, n] (row stride ldc) = (+=) A [m, k] @ B [k, n], A and B row- or column-major.
void packed_gemm_f32(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const MatrixRef& a_ref,
                     const float* b, const MatrixRef& b_ref, float* c, std::int64_t ldc, bool accumulate);

// The same with A and B in `dtype` (f16 or bf16; bf16 on the dot-product instructions where the
// CPU has them) and C in f32: for a caller that adds up several products without rounding
// between them (a convolution's chunks).
void half_gemm_f32_output(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
                          const MatrixRef& b, float* c, std::int64_t ldc, bool accumulate);

// --- operands the caller packs ---------------------------------------------------------------------
// A convolution multiplies the same weights by the column matrices of many chunks, and can write
// its columns straight in the layout the micro-kernel reads: with these it packs its weights once
// per call and builds no column matrix beside the packed one.
//
// A [m, k] is packed as panels of `rows` rows (the last padded with zeros), B [k, n] as panels of
// `columns` columns, each panel the whole depth k. In f32 element (p, j) of a B panel is at
// p * columns + j. bf16 on the dot-product instructions keeps depth in pairs: (p, j) is at
// (p / 2) * 2 * columns + 2 * j + p % 2, and an odd depth is padded with a zero row.
struct PanelLayout {
  DType packed;  // what a packed element is: f32, or bf16 in pairs
  std::int64_t rows, columns;

  bool pairs() const { return packed == DType::bf16; }
  std::int64_t padded_depth(std::int64_t k) const { return pairs() ? (k + 1) / 2 * 2 : k; }
  // Elements of one B panel, and where element (p, j) of a panel lies in it.
  std::int64_t b_panel_elements(std::int64_t k) const { return padded_depth(k) * columns; }
  std::int64_t b_offset(std::int64_t p, std::int64_t j) const {
    return pairs() ? p / 2 * 2 * columns + 2 * j + p % 2 : p * columns + j;
  }
  std::int64_t b_panels(std::int64_t n) const { return (n + columns - 1) / columns; }
  // Bytes of a packed A (element size 4 in f32, 2 in bf16 pairs).
  std::int64_t a_bytes(std::int64_t m, std::int64_t k) const {
    return (m + rows - 1) / rows * rows * padded_depth(k) * (pairs() ? 2 : 4);
  }
};

// The layout in which operands of `dtype` (f32, f16 or bf16) are packed on this CPU: f16, and bf16
// without the dot-product instructions, are widened to f32.
PanelLayout panel_layout(DType dtype);

// Packs A [m, k] of `dtype` into `packed` (layout.a_bytes(m, k) bytes) in panel_layout(dtype).
void pack_lhs(DType dtype, std::int64_t m, std::int64_t k, const MatrixRef& a, void* packed);

// Packs B [k, n] of `dtype` into `packed` (layout.b_panels(n) * layout.b_panel_elements(k)
// elements of the layout's packed type) in panel_layout(dtype).
void pack_rhs(DType dtype, std::int64_t k, std::int64_t n, const MatrixRef& b, void* packed);

// C [m, n] (row stride ldc) = (+=) A @ B from a packed A and B in `layout`, serially (for a caller
// that runs products in parallel itself).
void multiply_packed(const PanelLayout& layout, std::int64_t m, std::int64_t n, std::int64_t k, const void* packed_a,
                     const void* packed_b, float* c, std::int64_t ldc, bool accumulate);

// The same for one panel of B (layout.columns columns) read in place, not packed: its row p (f32:
// layout.columns floats; bf16 pairs: pair row p, 2 * layout.columns words) at b + b_rows[p], in
// elements of the packed type. A convolution's column-matrix panel lies so in its window of input
// rows (kernels/cpu/conv_window.h), which it thus multiplies without gathering it.
void multiply_in_place(const PanelLayout& layout, std::int64_t m, std::int64_t k, const void* packed_a, const void* b,
                       const std::int64_t* b_rows, float* c, std::int64_t ldc, bool accumulate);

}  // namespace ember::kernels::cpu
