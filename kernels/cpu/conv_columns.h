#pragma once
// The CPU convolution through a column matrix (im2col): the column-matrix rows gathered from an
// image and added back onto one (col2im, element by element or, on AVX-512, input row by input
// row), and the products that multiply whole column matrices with gemm(): every product in f64
// and f16, and the chunks and CPUs the panel paths of kernels/cpu/conv.cpp do not take.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/conv_chunks.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/dtype.h"
#include "kernels/gemm.h"

namespace ember::kernels::cpu {

// For one kernel row: the output columns j in [0, run) whose input column base + j * stride
// lies inside [0, width). Outside them the window reads padding.
struct InsideRange {
  std::int64_t first, last;
};

inline InsideRange inside_range(std::int64_t base, std::int64_t stride, std::int64_t width, std::int64_t run) {
  const std::int64_t first = base >= 0 ? 0 : ceil_div(-base, stride);
  const std::int64_t last = base >= width ? 0 : ceil_div(width - base, stride);
  const std::int64_t lo = std::min(first, run);
  return {lo, std::max(lo, std::min(last, run))};
}

// Calls visit(row_data_offset, run_start, image_row, inside, base) for each output row the
// chunk touches in column-matrix row (c, kh, kw): `run_start` is where the row's run starts
// in the chunk, image_row the input row read (or -1 in the padding), base the input column of
// the run's first output column. The runs are short (an output row: 11 positions in the CNN's
// second layer), so nothing here divides per run: a run that starts at output column 0 reads
// the same input columns as every other such run of this (kh, kw), worked out once.
template <class Visit>
void for_each_run(const ConvGeometry& g, std::int64_t kh, std::int64_t kw, const Chunk& chunk, Visit&& visit) {
  const std::int64_t column_offset = kw * g.dilation_w - g.pad_w;
  const InsideRange whole_row = inside_range(column_offset, g.stride_w, g.width, g.out_w);
  std::int64_t oh = chunk.begin / g.out_w, ow = chunk.begin % g.out_w;
  for (std::int64_t p = chunk.begin; p < chunk.end; ++oh, ow = 0) {
    const std::int64_t run = std::min(g.out_w - ow, chunk.end - p);
    const std::int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
    const std::int64_t base = ow * g.stride_w + column_offset;
    InsideRange inside{0, 0};
    const bool row_inside = ih >= 0 && ih < g.height;
    if (row_inside) inside = run == g.out_w ? whole_row : inside_range(base, g.stride_w, g.width, run);
    visit(p - chunk.begin, run, row_inside ? ih : -1, inside, base);
    p += run;
  }
}

// gather_columns in its common case: stride 1, no conversion and a chunk of whole output rows.
// Each output row's run is one copy between its padding columns, whose extent is worked out once
// per (kh, kw): no per-run bookkeeping, which dominated where the rows are short (the CNN's 11).
template <class T>
void gather_whole_rows(const ConvGeometry& g, const T* image, const Chunk& chunk, T* cols) {
  const std::int64_t width = chunk.size(), ow = g.out_w, first_row = chunk.begin / ow;
  for (std::int64_t c = 0; c < g.channels; ++c) {
    const T* plane = image + c * g.height * g.width;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        T* out = cols + ((c * g.kernel_h + kh) * g.kernel_w + kw) * width;
        const std::int64_t base = kw * g.dilation_w - g.pad_w;  // the input column of output column 0
        const InsideRange inside = inside_range(base, 1, g.width, ow);
        for (std::int64_t r = 0; r < width / ow; ++r, out += ow) {
          const std::int64_t ih = (first_row + r) * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= g.height || inside.last == inside.first) {
            std::fill(out, out + ow, T(0));
            continue;
          }
          std::fill(out, out + inside.first, T(0));
          std::memcpy(out + inside.first, plane + ih * g.width + base + inside.first,
                      static_cast<std::size_t>(inside.last - inside.first) * sizeof(T));
          std::fill(out + inside.last, out + ow, T(0));
        }
      }
    }
  }
}

// im2col of one chunk: cols[(c, kh, kw), j] = image[c, ih, iw] of position chunk.begin + j,
// converted to the compute type C.
template <class T, class C>
void gather_columns(const ConvGeometry& g, const T* image, const Chunk& chunk, C* cols) {
  if constexpr (std::is_same_v<T, C> && !std::is_same_v<loop_t<T>, T>) {
    // bf16 copied as its 16 bits: GCC vectorizes copies of integers, not of Eigen::bfloat16.
    return gather_columns(g, reinterpret_cast<const loop_t<T>*>(image), chunk, reinterpret_cast<loop_t<T>*>(cols));
  }
  const std::int64_t width = chunk.size(), sw = g.stride_w;
  if constexpr (std::is_same_v<T, C>) {
    if (sw == 1 && chunk.begin % g.out_w == 0 && width % g.out_w == 0) return gather_whole_rows(g, image, chunk, cols);
  }
  for (std::int64_t c = 0; c < g.channels; ++c) {
    const T* plane = image + c * g.height * g.width;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        C* row = cols + ((c * g.kernel_h + kh) * g.kernel_w + kw) * width;
        for_each_run(g, kh, kw, chunk,
                     [&](std::int64_t at, std::int64_t run, std::int64_t ih, InsideRange inside, std::int64_t base) {
                       C* out = row + at;
                       std::fill(out, out + inside.first, C(0));
                       const std::int64_t from = ih * g.width + base;  // the input index of column 0 (read inside only)
                       if (sw == 1 && inside.last > inside.first) {
                         if constexpr (std::is_same_v<T, C>) {
                           // A copy: the runs are short (11 floats in the CNN's second layer), where
                           // a vectorized loop spends most of its time in its scalar tail.
                           std::memcpy(out + inside.first, plane + from + inside.first,
                                       static_cast<std::size_t>(inside.last - inside.first) * sizeof(C));
                         } else {
                           for (std::int64_t j = inside.first; j < inside.last; ++j)
                             out[j] = static_cast<C>(plane[from + j]);
                         }
                       } else if (sw != 1) {
                         for (std::int64_t j = inside.first; j < inside.last; ++j)
                           out[j] = static_cast<C>(plane[from + j * sw]);
                       }
                       std::fill(out + inside.last, out + run, C(0));
                     });
      }
    }
  }
}

// col2im of one chunk, the adjoint of gather_columns: grad_image[c, ih, iw] += cols[(c, kh, kw), j]
// (row r of the columns at cols + r * ld) for channels [first_channel, last_channel), element by element.
template <class C>
void scatter_columns(const ConvGeometry& g, const C* cols, std::int64_t ld, const Chunk& chunk, C* grad_image,
                     std::int64_t first_channel, std::int64_t last_channel) {
  const std::int64_t sw = g.stride_w;
  for (std::int64_t c = first_channel; c < last_channel; ++c) {
    C* plane = grad_image + c * g.height * g.width;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const C* row = cols + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ld;
        for_each_run(g, kh, kw, chunk,
                     [&](std::int64_t at, std::int64_t, std::int64_t ih, InsideRange inside, std::int64_t base) {
                       const std::int64_t to = ih * g.width + base;
                       for (std::int64_t j = inside.first; j < inside.last; ++j) plane[to + j * sw] += row[at + j];
                     });
      }
    }
  }
}

// The lanes [first, last) of 16, clipped to the vector, as a mask.
inline std::uint32_t lane_mask(std::int64_t first, std::int64_t last) {
  const std::int64_t a = std::clamp<std::int64_t>(first, 0, 16), b = std::clamp<std::int64_t>(last, a, 16);
  return ((1u << b) - 1) & ~((1u << a) - 1);
}

// col2im for a horizontal stride of 1 on AVX-512, the other way round: each input row of each
// channel, 16 columns at a time, sums in a register the KH x KW runs of columns that land on it
// (each a shifted, masked load of a column-matrix row), and is added to the image once. The
// element-by-element scatter adds every value to memory, and neighbouring taps add to
// overlapping places, one after the other. Which taps land on 16 columns of a row, and where,
// is the same for every channel: worked out once, in `taps`.
__attribute__((target("avx512f"))) inline void scatter_columns_by_rows(const ConvGeometry& g, const float* cols,
                                                                std::int64_t ld, const Chunk& chunk, float* grad_image,
                                                                std::int64_t first_channel, std::int64_t last_channel) {
  struct Tap {
    std::int64_t offset;  // where lane 0 reads, from channel 0's first column-matrix row
    __mmask16 lanes;      // the lanes it reads (no others are read or faulted on)
  };
  thread_local std::vector<Tap> taps;
  taps.resize(static_cast<std::size_t>(g.kernel_h * g.kernel_w));
  const std::int64_t ow = g.out_w, first_row = chunk.begin / ow, last_row = (chunk.end - 1) / ow;
  const std::int64_t window = g.kernel_h * g.kernel_w, plane = g.height * g.width;
  const std::int64_t top = std::max<std::int64_t>(0, first_row * g.stride_h - g.pad_h);
  const std::int64_t bottom =
      std::min<std::int64_t>(g.height, last_row * g.stride_h - g.pad_h + (g.kernel_h - 1) * g.dilation_h + 1);
  for (std::int64_t ih = top; ih < bottom; ++ih) {
    for (std::int64_t x0 = 0; x0 < g.width; x0 += 16) {
      std::size_t count = 0;
      for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const std::int64_t from_top = ih + g.pad_h - kh * g.dilation_h;  // oh * stride_h, if this tap reads ih
        if (from_top < 0 || from_top % g.stride_h != 0) continue;
        const std::int64_t oh = from_top / g.stride_h;
        if (oh < first_row || oh > last_row) continue;
        // The output columns of row oh inside the chunk, and where its column 0 is in the columns.
        const std::int64_t lo = std::max<std::int64_t>(0, chunk.begin - oh * ow);
        const std::int64_t hi = std::min<std::int64_t>(ow, chunk.end - oh * ow);
        const std::int64_t at = oh * ow - chunk.begin;
        for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
          // Input column x0 + l is read by output column x0 + l - shift of this tap.
          const std::int64_t shift = kw * g.dilation_w - g.pad_w;
          const auto lanes = static_cast<__mmask16>(lane_mask(lo + shift - x0, hi + shift - x0));
          if (lanes != 0) taps[count++] = {(kh * g.kernel_w + kw) * ld + at + x0 - shift, lanes};
        }
      }
      const auto inside = static_cast<__mmask16>(lane_mask(0, g.width - x0));
      for (std::int64_t c = first_channel; c < last_channel; ++c) {
        const float* channel = cols + c * window * ld;
        __m512 sum = _mm512_setzero_ps();
        for (std::size_t t = 0; t < count; ++t) {
          sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(taps[t].lanes, channel + taps[t].offset));
        }
        float* row = grad_image + c * plane + ih * g.width + x0;
        _mm512_mask_storeu_ps(row, inside, _mm512_add_ps(_mm512_maskz_loadu_ps(inside, row), sum));
      }
    }
  }
}

// col2im for kernels 2 taps wide with a horizontal stride of 2 and no horizontal padding or
// dilation (the U-Net's 2 x 2 up-convolution) on AVX-512: tap kw of output column ow lands on
// input column 2 ow + kw, so the kw = 0 and kw = 1 rows of the columns interleave into each input
// row, 16 positions (32 columns) at a time, added to the image in whole vectors instead of one
// element at a time two columns apart.
__attribute__((target("avx512f"))) inline void scatter_column_pairs(const ConvGeometry& g, const float* cols,
                                                                    std::int64_t ld, const Chunk& chunk,
                                                                    float* grad_image, std::int64_t first_channel,
                                                                    std::int64_t last_channel) {
  // Lane 2 t of `low` is the first row's lane t, lane 2 t + 1 the second's (16 + t); `high` the
  // same for lanes 8 .. 15.
  const __m512i low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  for (std::int64_t c = first_channel; c < last_channel; ++c) {
    float* plane = grad_image + c * g.height * g.width;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const float* first = cols + (c * g.kernel_h + kh) * 2 * ld;
      const float* second = first + ld;
      for (std::int64_t p = chunk.begin; p < chunk.end;) {  // the chunk's output rows
        const std::int64_t oh = p / g.out_w, ow = p % g.out_w, run = std::min(g.out_w - ow, chunk.end - p);
        const std::int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h, at = p - chunk.begin;
        p += run;
        if (ih < 0 || ih >= g.height) continue;  // this tap's row lies in the padding
        float* out = plane + ih * g.width + 2 * ow;
        for (std::int64_t j = 0; j < run; j += 16) {
          const std::int64_t n = std::min<std::int64_t>(16, run - j);
          const auto lanes = static_cast<__mmask16>((1u << n) - 1);
          const __m512 a = _mm512_maskz_loadu_ps(lanes, first + at + j), b = _mm512_maskz_loadu_ps(lanes, second + at + j);
          const auto low_lanes = static_cast<__mmask16>((1u << (2 * std::min<std::int64_t>(n, 8))) - 1);
          const auto high_lanes = static_cast<__mmask16>((1u << (2 * std::max<std::int64_t>(n - 8, 0))) - 1);
          float* at_low = out + 2 * j;
          float* at_high = at_low + 16;
          _mm512_mask_storeu_ps(at_low, low_lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(low_lanes, at_low),
                                                                  _mm512_permutex2var_ps(a, low, b)));
          _mm512_mask_storeu_ps(at_high, high_lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(high_lanes, at_high),
                                                                    _mm512_permutex2var_ps(a, high, b)));
        }
      }
    }
  }
}

// col2im in the compute type for channels [first_channel, last_channel), by rows where the CPU and
// the geometry allow.
template <class C>
void add_columns(const ConvGeometry& g, const C* cols, std::int64_t ld, const Chunk& chunk, C* grad_image,
                 std::int64_t first_channel, std::int64_t last_channel) {
  if constexpr (std::is_same_v<C, float>) {
    if (g.stride_w == 1 && cpu_isa() >= Isa::avx512) {
      return scatter_columns_by_rows(g, cols, ld, chunk, grad_image, first_channel, last_channel);
    }
    if (g.stride_w == 2 && g.kernel_w == 2 && g.dilation_w == 1 && g.pad_w == 0 && cpu_isa() >= Isa::avx512) {
      return scatter_column_pairs(g, cols, ld, chunk, grad_image, first_channel, last_channel);
    }
  }
  scatter_columns(g, cols, ld, chunk, grad_image, first_channel, last_channel);
}

// The column matrix of one chunk, row r at data + r * stride: the image itself for a pointwise
// convolution in the compute type, else built in the thread's scratch.
template <class C>
struct Columns {
  const C* data;
  std::int64_t stride;
};

// The type the GEMM operands (weights, columns, output gradients) are kept in: bf16 stays bf16
// (the packed GEMM multiplies it on the dot-product instructions, summing in f32); f16 is
// widened to f32.
template <class T>
using operand_t = std::conditional_t<std::is_same_v<T, bfloat16>, bfloat16, compute_t<T>>;

template <class T, class C = operand_t<T>>
Columns<C> columns_of(const ConvShape& s, const T* image_n, const Chunk& chunk) {
  if constexpr (std::is_same_v<T, C>) {
    if (s.pointwise()) return {image_n + chunk.begin, s.positions()};
  }
  C* built = thread_scratch<C>(Slot::columns, s.rows() * chunk.size());
  gather_columns(s.g, image_n, chunk, built);
  return {built, chunk.size()};
}

// A matrix of `rows` rows in the compute type: `data` itself when T already is that type,
// else a converted copy in memory from allocate(elements). Row r starts at data + r * row_stride;
// the copy is dense.
template <class C, class T, class Allocate>
const C* as_compute(const T* data, std::int64_t rows, std::int64_t columns, std::int64_t& row_stride,
                    Allocate&& allocate) {
  if constexpr (std::is_same_v<T, C>) {
    return data;
  } else {
    C* copy = allocate(rows * columns);
    for (std::int64_t r = 0; r < rows; ++r) convert_row(data + r * row_stride, columns, copy + r * columns);
    row_stride = columns;
    return copy;
  }
}

// The weight [out_channels, depth] in the compute type: itself, or converted into `copy`.
template <class T, class C = operand_t<T>>
const C* weight_in_compute_type(const ConvShape& s, const T* weight, Scratch<C>& copy) {
  std::int64_t stride = s.depth();
  return as_compute<C>(weight, s.out_channels, s.depth(), stride, [&](std::int64_t n) { return copy.get(n); });
}

// C_out [m, n] (row stride ldc) = (+=) A @ B with operands of type O and the result in the compute
// type C, serial inside a parallel range.
template <class O, class C>
void gemm_into(std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a, const MatrixRef& b, C* out,
               std::int64_t ldc, bool accumulate) {
  if constexpr (std::is_same_v<O, C>) {
    gemm(dtype_of<C>, 1, m, n, k, a, 0, b, 0, out, ldc, 0, accumulate);
  } else {
    half_gemm_f32_output(dtype_of<O>, m, n, k, a, b, out, ldc, accumulate);
  }
}

// One chunk of the forward convolution in f64, f16 and bf16 through a column matrix, multiplied
// by gemm() (f64: Eigen's) or, for half operands, the packed GEMM summing in f32; `weight` [out
// channels, depth] in the operand type.
template <class T, class O = operand_t<T>>
void forward_chunk_by_columns(const ConvShape& s, const T* image, const O* weight, const Chunk& chunk, T* output) {
  using C = compute_t<T>;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), width = chunk.size();
  const Columns<O> cols = columns_of(s, image + chunk.image * s.image_size(), chunk);
  T* out_n = output + chunk.image * s.out_channels * P + chunk.begin;
  C* out = nullptr;
  std::int64_t out_stride = P;
  if constexpr (std::is_same_v<T, C>) {
    out = out_n;
  } else {
    out = thread_scratch<C>(Slot::gradient, s.out_channels * width);  // the chunk's output in f32
    out_stride = width;
  }
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    gemm_into<O>(ocg, width, depth, {weight + grp * ocg * depth, depth, 1},
                 {cols.data + grp * depth * cols.stride, cols.stride, 1}, out + grp * ocg * out_stride, out_stride,
                 std::is_same_v<T, C> && s.accumulate);
  }
  if constexpr (!std::is_same_v<T, C>) {
    for (std::int64_t o = 0; o < s.out_channels; ++o) store_row(out + o * width, width, s.accumulate, out_n + o * P);
  }
}

template <class T>
void forward_by_columns(const ConvShape& s, const T* image, const T* weight_in, T* output) {
  Scratch<operand_t<T>> weight_copy;
  const operand_t<T>* weight = weight_in_compute_type(s, weight_in, weight_copy);  // dense
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(operand_t<T>));
  for_each_item(static_cast<std::int64_t>(chunks.size()), [&](std::int64_t i) {
    forward_chunk_by_columns(s, image, weight, chunks[static_cast<std::size_t>(i)], output);
  });
}

// The same in f64, f16 and bf16 through a column matrix and gemm() (half operands: the packed
// GEMM summing in f32).
template <class T, class C = compute_t<T>>
void add_filter_gradient_by_columns(const ConvShape& s, const T* image_n, const T* grad_output, const Chunk& chunk,
                                    C* partial) {
  using O = operand_t<T>;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs();
  const std::int64_t width = chunk.size();
  const Columns<O> cols = columns_of(s, image_n, chunk);
  std::int64_t dy_stride = P;
  const O* dy = as_compute<O>(grad_output, s.out_channels, width, dy_stride, gradient_scratch<O>{});
  // grad W_g += dy_g [OCg, width] @ cols_g^T [width, depth]
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    gemm_into<O>(ocg, depth, width, {dy + grp * ocg * dy_stride, dy_stride, 1},
                 {cols.data + grp * depth * cols.stride, 1, cols.stride}, partial + grp * ocg * depth, depth, true);
  }
}

// Any stride, in f64, f16 and bf16 without its dot products: per image, columns W^T @ grad_output chunk by chunk (by
// gemm(); half operands summing in f32), added onto the image in order (chunks of one image
// overlap on the image, so one image stays on one thread).
template <class T>
void backward_data_by_scatter(const ConvShape& s, const T* weight_in, const T* grad_output, T* grad_image) {
  using C = compute_t<T>;
  using O = operand_t<T>;
  const ConvGeometry& g = s.g;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs();
  Scratch<O> weight_copy;
  const O* weight = weight_in_compute_type(s, weight_in, weight_copy);  // [out_channels, depth], dense
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(C));
  const std::int64_t per_image = static_cast<std::int64_t>(chunks.size()) / std::max<std::int64_t>(g.batch, 1);
  for_each_range(g.batch, ranges_for(g.batch), [&](std::int64_t, std::int64_t first, std::int64_t last) {
    for (std::int64_t n = first; n < last; ++n) {
      C* grad_n = nullptr;
      if constexpr (std::is_same_v<T, C>) {
        grad_n = grad_image + n * s.image_size();
      } else {
        grad_n = thread_scratch<C>(Slot::image, s.image_size());  // a whole image in f32 (half types only)
      }
      start_sums(grad_image + n * s.image_size(), s.image_size(), s.accumulate, grad_n);
      for (std::int64_t i = n * per_image; i < (n + 1) * per_image; ++i) {
        const Chunk& chunk = chunks[static_cast<std::size_t>(i)];
        const std::int64_t width = chunk.size();
        std::int64_t dy_stride = P;
        const O* dy = as_compute<O>(grad_output + n * s.out_channels * P + chunk.begin, s.out_channels, width,
                                    dy_stride, gradient_scratch<O>{});
        C* cols = thread_scratch<C>(Slot::columns, s.rows() * width);
        // cols_g [depth, width] = W_g^T [depth, OCg] @ dy_g [OCg, width]
        for (std::int64_t grp = 0; grp < s.groups; ++grp) {
          gemm_into<O>(depth, width, ocg, {weight + grp * ocg * depth, 1, depth},
                       {dy + grp * ocg * dy_stride, dy_stride, 1}, cols + grp * depth * width, width, false);
        }
        add_columns(g, cols, width, chunk, grad_n, std::int64_t{0}, g.channels);
      }
      if constexpr (!std::is_same_v<T, C>) {
        T* out = grad_image + n * s.image_size();
        for (std::int64_t e = 0; e < s.image_size(); ++e) out[e] = static_cast<T>(grad_n[e]);
      }
    }
  });
}

}  // namespace ember::kernels::cpu
