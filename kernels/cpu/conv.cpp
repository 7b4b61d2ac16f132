// Convolution on the CPU (kernels/conv.h).
//
// Each product is a GEMM against a column matrix (im2col: one row per (channel, kh, kw), one
// column per output position), made for one chunk of an image's output positions at a time, so
// neither the columns of a whole batch (KH * KW times the image) nor anything for backward is
// ever held: backward rebuilds its chunks from the image. In f32, and in bf16 where the CPU has
// its dot products, no column matrix is built at all: the chunk's input rows are copied, padded,
// into a small window, and the columns are gathered from it straight into the panels the packed
// GEMM's micro-kernel reads (kernels/cpu/packed_gemm.h), one panel at a time, while the other
// operand is packed once per call. The weight gradient transposes those panels (the depth is
// its product's columns); the input gradient computes its columns in whole tiles and adds them to
// the image input row by input row. Other types and geometries keep the column matrix and
// gemm(). Chunks run in parallel with the GEMM serial inside; bf16 products sum in f32 and f16
// is widened to f32; the results are rounded once.
#include "kernels/conv.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "kernels/cpu/conv_window.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/transpose.h"
#include "kernels/gemm.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

// The column matrix one thread builds at a time stays about this small (it is reread by the
// GEMM once per block of output channels, so it should sit in the last-level cache).
constexpr std::int64_t kColumnBufferBytes = std::int64_t{1} << 20;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The widest panel of B the packed GEMM uses (kernels/cpu/gemm.cpp: AVX-512 and bf16 kernels).
constexpr std::int64_t kPanelColumns = 32;

// The convolution as GEMMs: per image and group, out_g [OCg, P] = W_g [OCg, depth] @ cols_g
// [depth, P] with depth = C/groups * KH * KW and P output positions.
struct ConvShape {
  const ConvGeometry& g;
  std::int64_t out_channels, groups;

  std::int64_t window() const { return g.kernel_h * g.kernel_w; }
  std::int64_t group_outputs() const { return out_channels / groups; }
  std::int64_t depth() const { return g.channels / groups * window(); }
  std::int64_t rows() const { return g.channels * window(); }  // column-matrix rows, every group
  std::int64_t positions() const { return g.out_h * g.out_w; }
  std::int64_t image_size() const { return g.channels * g.height * g.width; }
  // A 1x1 window with stride 1 and no padding reads the image as it is: it is its own column matrix.
  bool pointwise() const {
    return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
  }
};

// Each image cut into chunks whose column matrix fits kColumnBufferBytes, and into at least as
// many chunks overall as there are threads when the positions allow it.
std::vector<Chunk> make_chunks(const ConvShape& s, std::size_t element_bytes) {
  const std::int64_t positions = s.positions();
  const std::int64_t fits =
      kColumnBufferBytes / (std::max<std::int64_t>(s.rows(), 1) * static_cast<std::int64_t>(element_bytes));
  const std::int64_t pieces = ceil_div(omp_get_max_threads(), std::max<std::int64_t>(s.g.batch, 1));
  std::int64_t per_chunk =
      std::max<std::int64_t>(1, std::min({std::max<std::int64_t>(fits, 64), ceil_div(positions, pieces), positions}));
  // A whole number of the GEMM's 32-column panels, so that only an image's last chunk has a
  // partial one (whose tiles take the slower edge path).
  if (per_chunk < positions && per_chunk > kPanelColumns) per_chunk = per_chunk / kPanelColumns * kPanelColumns;
  std::vector<Chunk> chunks;
  for (std::int64_t n = 0; n < s.g.batch; ++n) {
    for (std::int64_t begin = 0; begin < positions; begin += per_chunk) {
      chunks.push_back({n, begin, std::min(positions, begin + per_chunk)});
    }
  }
  return chunks;
}

// Calls body(range, first, last) for `ranges` contiguous slices of [0, count), in parallel. One
// range runs on the calling thread, outside any parallel region, so Eigen may use every thread
// inside a single large GEMM.
template <class Body>
void for_each_range(std::int64_t count, std::int64_t ranges, const Body& body) {
  if (ranges <= 1) {
    body(std::int64_t{0}, std::int64_t{0}, count);
    return;
  }
#pragma omp parallel for num_threads(static_cast<int>(ranges)) schedule(static, 1)
  for (std::int64_t r = 0; r < ranges; ++r) body(r, r * count / ranges, (r + 1) * count / ranges);
}

std::int64_t ranges_for(std::int64_t count) { return std::min<std::int64_t>(omp_get_max_threads(), count); }

// Calls body(i) for each i in [0, count) in parallel, handing the next i to whichever thread is
// free: for independent items (the forward's chunks), so that a thread the machine slows down
// does not leave the other waiting at the end.
template <class Body>
void for_each_item(std::int64_t count, const Body& body) {
#pragma omp parallel for num_threads(static_cast<int>(std::max<std::int64_t>(1, ranges_for(count)))) schedule(dynamic, 1)
  for (std::int64_t i = 0; i < count; ++i) body(i);
}

// Uninitialized memory, grown on demand.
template <class T>
class Scratch {
 public:
  T* get(std::int64_t n) {
    if (n > size_) {
      data_ = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(n));
      size_ = n;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<T[]> data_;
  std::int64_t size_ = 0;
};

// The calling thread's scratch buffer `slot`, kept for its next convolution: a fresh buffer of
// this size would cost a page fault and a kernel-side clear per 4 KiB on every call.
enum class Slot { columns, gradient, window, transposed, image };

template <class C>
C* thread_scratch(Slot slot, std::int64_t n) {
  thread_local Scratch<C> buffers[5];
  return buffers[static_cast<int>(slot)].get(n);
}

template <class C>
struct gradient_scratch {
  C* operator()(std::int64_t n) const { return thread_scratch<C>(Slot::gradient, n); }
};

// For one kernel row: the output columns j in [0, run) whose input column base + j * stride
// lies inside [0, width). Outside them the window reads padding.
struct InsideRange {
  std::int64_t first, last;
};

InsideRange inside_range(std::int64_t base, std::int64_t stride, std::int64_t width, std::int64_t run) {
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
std::uint32_t lane_mask(std::int64_t first, std::int64_t last) {
  const std::int64_t a = std::clamp<std::int64_t>(first, 0, 16), b = std::clamp<std::int64_t>(last, a, 16);
  return ((1u << b) - 1) & ~((1u << a) - 1);
}

// col2im for a horizontal stride of 1 on AVX-512, the other way round: each input row of each
// channel, 16 columns at a time, sums in a register the KH x KW runs of columns that land on it
// (each a shifted, masked load of a column-matrix row), and is added to the image once. The
// element-by-element scatter adds every value to memory, and neighbouring taps add to
// overlapping places, one after the other. Which taps land on 16 columns of a row, and where,
// is the same for every channel: worked out once, in `taps`.
__attribute__((target("avx512f"))) void scatter_columns_by_rows(const ConvGeometry& g, const float* cols,
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

// col2im in the compute type for channels [first_channel, last_channel), by rows where the CPU and
// the geometry allow.
template <class C>
void add_columns(const ConvGeometry& g, const C* cols, std::int64_t ld, const Chunk& chunk, C* grad_image,
                 std::int64_t first_channel, std::int64_t last_channel) {
  if constexpr (std::is_same_v<C, float>) {
    if (g.stride_w == 1 && cpu_isa() >= Isa::avx512) {
      return scatter_columns_by_rows(g, cols, ld, chunk, grad_image, first_channel, last_channel);
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

// One segment of a column-matrix row written into an f32 panel: dst[j - j0] for output columns j
// in [j0, j1) of a run whose input column j is source[j * stride] inside `inside` and padding
// outside it.
template <class T>
void copy_segment(float* dst, const T* source, std::int64_t stride, std::int64_t j0, std::int64_t j1,
                  InsideRange inside) {
  const std::int64_t first = std::clamp(inside.first, j0, j1), last = std::clamp(inside.last, first, j1);
  std::fill(dst, dst + (first - j0), 0.0f);
  if (std::is_same_v<T, float> && stride == 1) {
    std::memcpy(dst + (first - j0), source + first, static_cast<std::size_t>(last - first) * sizeof(float));
  } else {
    for (std::int64_t j = first; j < last; ++j) dst[j - j0] = static_cast<float>(source[j * stride]);
  }
  std::fill(dst + (last - j0), dst + (j1 - j0), 0.0f);
}

// im2col of one chunk and channels [first_channel, first_channel + channels) of an f32 or bf16
// image, element by element, straight into f32 B panels of nr columns (packed_gemm.h): element (r, q) of the column matrix,
// r = (c, kh, kw) and q the chunk's q-th position, goes to lane q % nr of panel q / nr, whose
// lanes past the chunk are zero.
template <class T>
void gather_panels_by_elements(const ConvGeometry& g, const T* image, std::int64_t first_channel,
                               std::int64_t channels, const Chunk& chunk, std::int64_t nr, float* packed) {
  const std::int64_t panel = channels * g.kernel_h * g.kernel_w * nr, panels = ceil_div(chunk.size(), nr);
  if (chunk.size() % nr != 0) std::fill(packed + (panels - 1) * panel, packed + panels * panel, 0.0f);
  for (std::int64_t c = 0; c < channels; ++c) {
    const T* plane = image + (first_channel + c) * g.height * g.width;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        float* row = packed + ((c * g.kernel_h + kh) * g.kernel_w + kw) * nr;
        for_each_run(g, kh, kw, chunk,
                     [&](std::int64_t at, std::int64_t run, std::int64_t ih, InsideRange inside, std::int64_t base) {
                       const T* source = plane + ih * g.width + base;  // read inside only
                       for (std::int64_t q = at; q < at + run;) {  // the run, cut at panel edges
                         const std::int64_t lane = q % nr, length = std::min(nr - lane, at + run - q);
                         copy_segment(row + q / nr * panel + lane, source, g.stride_w, q - at, q - at + length, inside);
                         q += length;
                       }
                     });
      }
    }
  }
}

// Calls use(j, panel) for each B panel j of the chunk's column matrix (channels [first_channel,
// first_channel + channels) of an f32 or bf16 image) in order, f32 panels of nr columns. On AVX-512 with a horizontal
// stride of 1 each panel is gathered from the padded window just before its use, so that it is
// still in L1 when multiplied; otherwise all are gathered element by element first.
template <class T, class Use>
void for_each_column_panel(const ConvGeometry& g, const T* image, std::int64_t first_channel,
                           std::int64_t channels, const Chunk& chunk, std::int64_t nr, Use&& use) {
  const std::int64_t panel = channels * g.kernel_h * g.kernel_w * nr, panels = ceil_div(chunk.size(), nr);
  if (g.stride_w == 1 && nr == 32 && cpu_isa() >= Isa::avx512) {
    const WindowGather windows(g, chunk);
    if (windows.fits()) {
      float* window = thread_scratch<float>(Slot::window, windows.window_elements(channels));
      windows.copy_window(image, first_channel, channels, window);
      float* packed = thread_scratch<float>(Slot::columns, panel);
      for (std::int64_t j = 0; j < panels; ++j) {
        windows.gather_panel(window, channels, j, packed);
        use(j, packed);
      }
      return;
    }
  }
  float* packed = thread_scratch<float>(Slot::columns, panels * panel);
  gather_panels_by_elements(g, image, first_channel, channels, chunk, nr, packed);
  for (std::int64_t j = 0; j < panels; ++j) use(j, packed + j * panel);
}

// Each group's weight W_g [OCg, depth], or its transpose, packed once as the micro-kernel's A in
// the layout of T (f32, or bf16 pairs): group grp's panels at group(grp).
class PackedWeights {
 public:
  template <class T>
  PackedWeights(const ConvShape& s, const T* weight, bool transposed) {
    const std::int64_t ocg = s.group_outputs(), depth = s.depth();
    const PanelLayout layout = panel_layout(dtype_of<T>);
    group_bytes_ = transposed ? layout.a_bytes(depth, ocg) : layout.a_bytes(ocg, depth);
    bytes_ = std::make_unique_for_overwrite<std::byte[]>(static_cast<std::size_t>(s.groups * group_bytes_));
    for (std::int64_t grp = 0; grp < s.groups; ++grp) {
      const T* w = weight + grp * ocg * depth;
      if (transposed) {
        pack_lhs(dtype_of<T>, depth, ocg, {w, 1, depth}, bytes_.get() + grp * group_bytes_);
      } else {
        pack_lhs(dtype_of<T>, ocg, depth, {w, depth, 1}, bytes_.get() + grp * group_bytes_);
      }
    }
  }
  const std::byte* group(std::int64_t grp) const { return bytes_.get() + grp * group_bytes_; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  std::int64_t group_bytes_ = 0;
};

// The forward convolution in f32: the weights of each group packed once as the micro-kernel's A,
// each chunk's columns gathered straight into B panels, each multiplied as soon as it is made,
// and the chunks multiplied in parallel.
void forward_by_panels(const ConvShape& s, const float* image, const float* weight, float* output) {
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), cg = s.g.channels / s.groups;
  const PanelLayout layout = panel_layout(DType::f32);
  const std::int64_t nr = layout.columns;
  const PackedWeights packed_weights(s, weight, false);
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(float));
  for_each_item(static_cast<std::int64_t>(chunks.size()), [&](std::int64_t i) {
    const Chunk& chunk = chunks[static_cast<std::size_t>(i)];
    float* out = output + chunk.image * s.out_channels * P + chunk.begin;
    for (std::int64_t grp = 0; grp < s.groups; ++grp) {
      const std::byte* a = packed_weights.group(grp);
      for_each_column_panel(s.g, image + chunk.image * s.image_size(), grp * cg, cg, chunk, nr,
                            [&](std::int64_t j, const float* panel) {
                              multiply_packed(layout, ocg, std::min(nr, chunk.size() - j * nr), depth, a, panel,
                                              out + grp * ocg * P + j * nr, P, false);
                            });
    }
  });
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
                 false);
  }
  if constexpr (!std::is_same_v<T, C>) {
    for (std::int64_t o = 0; o < s.out_channels; ++o) {
      for (std::int64_t j = 0; j < width; ++j) out_n[o * P + j] = static_cast<T>(out[o * width + j]);
    }
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

// The forward convolution in bf16 on the dot-product kernel, as forward_by_panels: the weights
// packed once in depth pairs, each chunk's rows copied into a window of bf16 words, each panel
// of depth pairs gathered from it and multiplied at once, its f32 sums rounded once into the
// output. A chunk whose positions the window pattern does not fit goes through the column matrix.
void forward_by_pair_panels(const ConvShape& s, const bfloat16* image, const bfloat16* weight, bfloat16* output) {
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), cg = s.g.channels / s.groups;
  const PanelLayout layout = panel_layout(DType::bf16);
  const std::int64_t nr = layout.columns;
  const PackedWeights packed_weights(s, weight, false);
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(bfloat16));
  for_each_item(static_cast<std::int64_t>(chunks.size()), [&](std::int64_t i) {
    const Chunk& chunk = chunks[static_cast<std::size_t>(i)];
    const WindowGather windows(s.g, chunk);
    if (!windows.fits()) return forward_chunk_by_columns(s, image, weight, chunk, output);
    const bfloat16* image_n = image + chunk.image * s.image_size();
    auto* window = thread_scratch<std::uint16_t>(Slot::window, windows.window_elements(cg));
    auto* taps = thread_scratch<std::int64_t>(Slot::transposed, depth);
    for (std::int64_t c = 0, r = 0; c < cg; ++c) {
      for (std::int64_t kh = 0; kh < s.g.kernel_h; ++kh) {
        for (std::int64_t kw = 0; kw < s.g.kernel_w; ++kw) taps[r++] = windows.tap_offset(c, kh, kw);
      }
    }
    auto* panel = thread_scratch<std::uint16_t>(Slot::columns, layout.b_panel_elements(depth));
    float* sums = thread_scratch<float>(Slot::gradient, ocg * nr);
    for (std::int64_t grp = 0; grp < s.groups; ++grp) {
      windows.copy_window(image_n, grp * cg, cg, window);
      for (std::int64_t j = 0; j < layout.b_panels(chunk.size()); ++j) {
        windows.gather_pair_panel(window, taps, depth, j, panel);
        // All nr columns into `sums` (a partial panel's zero lanes give zeros), so that no tile
        // takes the edge path; n of them are the chunk's.
        multiply_packed(layout, ocg, nr, depth, packed_weights.group(grp), panel, sums, nr, false);
        const std::int64_t n = std::min(nr, chunk.size() - j * nr);
        bfloat16* out = output + chunk.image * s.out_channels * P + grp * ocg * P + chunk.begin + j * nr;
        for (std::int64_t o = 0; o < ocg; ++o) convert_row(sums + o * nr, n, out + o * P);
      }
    }
  });
}

template <class T>
void forward(const ConvShape& s, const T* image, const T* weight, T* output) {
  if constexpr (std::is_same_v<T, float>) {
    forward_by_panels(s, image, weight, output);
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    if (s.g.stride_w == 1 && cpu_isa() >= Isa::avx512_bf16) return forward_by_pair_panels(s, image, weight, output);
    forward_by_columns(s, image, weight, output);
  } else {
    forward_by_columns(s, image, weight, output);
  }
}

// The weight gradient multiplies dy [OCg, width] by the transposed column matrix [width, depth],
// so its B panels run along depth: (q, r) at r / nr * width * nr + q * nr + r % nr (zero for r
// past the depth). Each of the forward's panels (positions q0 .. q0 + nr - 1: (r, q) at r * nr +
// q - q0) fills their rows q0 .. q0 + nr - 1, on AVX-512 (nr = 32) by 16 x 16 blocks transposed
// in registers.
__attribute__((target("avx512f"))) void transpose_panel_avx512(const float* panel, std::int64_t depth,
                                                                std::int64_t width, std::int64_t q0,
                                                                float* transposed) {
  constexpr std::int64_t nr = 32;
  for (std::int64_t r0 = 0; r0 < depth; r0 += nr) {
    for (std::int64_t q = q0; q < std::min(q0 + nr, width); q += 16) {
      for (std::int64_t half = 0; half < nr; half += 16) {
        __m512 rows[16];
        for (std::int64_t t = 0; t < 16; ++t) {
          const std::int64_t r = r0 + half + t;
          rows[t] = r < depth ? _mm512_loadu_ps(panel + r * nr + q - q0) : _mm512_setzero_ps();
        }
        transpose_16x16(rows);
        float* out = transposed + r0 * width + q * nr + half;
        for (std::int64_t i = 0; i < std::min<std::int64_t>(16, width - q); ++i) _mm512_storeu_ps(out + i * nr, rows[i]);
      }
    }
  }
}

void transpose_panel(const float* panel, std::int64_t depth, std::int64_t width, std::int64_t q0, std::int64_t nr,
                     float* transposed) {
  if (nr == 32 && cpu_isa() >= Isa::avx512) return transpose_panel_avx512(panel, depth, width, q0, transposed);
  for (std::int64_t r0 = 0; r0 < depth; r0 += nr) {
    for (std::int64_t q = q0; q < std::min(q0 + nr, width); ++q) {
      for (std::int64_t j = 0; j < nr; ++j) {
        transposed[r0 * width + q * nr + j] = r0 + j < depth ? panel[(r0 + j) * nr + q - q0] : 0.0f;
      }
    }
  }
}

// partial [out_channels, depth] += the weight gradient of one chunk of an f32 or bf16 image, in
// f32: per group, dy_g [OCg, width] @ cols_g^T, the columns gathered into the forward's f32
// panels and transposed (above), dy packed as the micro-kernel's A. (bf16 takes the f32 kernel:
// its dot-product kernel would want the transposed columns in pairs of positions.)
template <class T>
void add_filter_gradient_by_panels(const ConvShape& s, const T* image_n, const T* dy, const Chunk& chunk,
                                   float* partial) {
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), cg = s.g.channels / s.groups;
  const std::int64_t width = chunk.size();
  const PanelLayout layout = panel_layout(DType::f32);
  const std::int64_t nr = layout.columns;
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    float* transposed = thread_scratch<float>(Slot::transposed, ceil_div(depth, nr) * nr * width);
    for_each_column_panel(s.g, image_n, grp * cg, cg, chunk, nr, [&](std::int64_t j, const float* panel) {
      transpose_panel(panel, depth, width, j * nr, nr, transposed);
    });
    float* packed_dy = thread_scratch<float>(Slot::gradient, layout.a_bytes(ocg, width) / std::int64_t{sizeof(float)});
    std::int64_t dy_stride = P;
    const float* dy_f32 = as_compute<float>(dy + grp * ocg * P, ocg, width, dy_stride,
                                            [](std::int64_t n) { return thread_scratch<float>(Slot::image, n); });
    pack_lhs(DType::f32, ocg, width, {dy_f32, dy_stride, 1}, packed_dy);
    multiply_packed(layout, ocg, depth, width, packed_dy, transposed, partial + grp * ocg * depth, depth, true);
  }
}

// The weight gradient in bf16 on the dot-product kernel: its B panels run along depth with the
// positions in pairs, (q, r) at r / 32 * pairs(width) * 64 + q / 2 * 64 + 2 (r % 32) + q % 2 in
// bf16 words: each 32-bit word is two neighbouring positions of one column-matrix row. So the
// rows of bf16 words of position panel j (gather_word_rows), seen as rows of 16 32-bit words,
// transposed 16 x 16 in registers, fill pair rows 16 j .. 16 j + 15 of every depth panel.
__attribute__((target("avx512f"))) void transpose_word_rows(const std::uint16_t* rows, std::int64_t depth,
                                                             std::int64_t width, std::int64_t j,
                                                             std::uint32_t* transposed) {
  const std::int64_t pairs = (width + 1) / 2, first_pair = 16 * j;
  for (std::int64_t r0 = 0; r0 < depth; r0 += 32) {
    std::uint32_t* panel = transposed + r0 / 32 * pairs * 32;
    for (std::int64_t half = 0; half < 32; half += 16) {
      __m512 block[16];
      for (std::int64_t t = 0; t < 16; ++t) {
        const std::int64_t r = r0 + half + t;
        block[t] = r < depth ? _mm512_loadu_ps(rows + r * 32) : _mm512_setzero_ps();
      }
      transpose_16x16(block);
      for (std::int64_t i = 0; i < std::min<std::int64_t>(16, pairs - first_pair); ++i) {
        _mm512_storeu_ps(panel + (first_pair + i) * 32 + half, block[i]);
      }
    }
  }
}

// partial += one chunk's weight gradient in bf16 on the dot-product kernel, per group dy_g @
// cols_g^T with dy packed in position pairs as A and the columns as above; false (nothing done)
// where the chunk's positions do not fit the window pattern.
bool add_filter_gradient_by_pair_panels(const ConvShape& s, const bfloat16* image_n, const bfloat16* dy,
                                        const Chunk& chunk, float* partial) {
  const WindowGather windows(s.g, chunk);
  if (!windows.fits()) return false;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), cg = s.g.channels / s.groups;
  const std::int64_t width = chunk.size();
  const PanelLayout layout = panel_layout(DType::bf16);
  auto* window = thread_scratch<std::uint16_t>(Slot::window, windows.window_elements(cg));
  auto* taps = thread_scratch<std::int64_t>(Slot::image, depth);
  for (std::int64_t c = 0, r = 0; c < cg; ++c) {
    for (std::int64_t kh = 0; kh < s.g.kernel_h; ++kh) {
      for (std::int64_t kw = 0; kw < s.g.kernel_w; ++kw) taps[r++] = windows.tap_offset(c, kh, kw);
    }
  }
  auto* rows = thread_scratch<std::uint16_t>(Slot::columns, depth * 32);
  auto* transposed = thread_scratch<std::uint32_t>(Slot::transposed, ceil_div(depth, 32) * 32 * (width + 1) / 2 * 2);
  auto* packed_dy = thread_scratch<std::byte>(Slot::gradient, layout.a_bytes(ocg, width));
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    windows.copy_window(image_n, grp * cg, cg, window);
    for (std::int64_t j = 0; j < layout.b_panels(width); ++j) {
      windows.gather_word_rows(window, taps, depth, j, rows);
      transpose_word_rows(rows, depth, width, j, transposed);
    }
    pack_lhs(DType::bf16, ocg, width, {dy + grp * ocg * P, P, 1}, packed_dy);
    multiply_packed(layout, ocg, depth, width, packed_dy, transposed, partial + grp * ocg * depth, depth, true);
  }
  return true;
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

template <class T>
void backward_filter(const ConvShape& s, const T* image, const T* grad_output, T* grad_weight) {
  using C = compute_t<T>;
  const std::int64_t P = s.positions(), weight_size = s.out_channels * s.depth();
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(operand_t<T>));
  const auto count = static_cast<std::int64_t>(chunks.size());
  const std::int64_t ranges = std::max<std::int64_t>(1, ranges_for(count));
  // One partial gradient per range, added up in range order: the same sum for the same threads.
  std::vector<C> partials(static_cast<std::size_t>(ranges * weight_size), C(0));
  // bf16 on the dot-product kernel where the window pattern serves (stride 1 across).
  [[maybe_unused]] const bool pairs = std::is_same_v<T, bfloat16> && s.g.stride_w == 1 && cpu_isa() >= Isa::avx512_bf16;
  for_each_range(count, ranges, [&](std::int64_t range, std::int64_t first, std::int64_t last) {
    C* partial = partials.data() + range * weight_size;
    for (std::int64_t i = first; i < last; ++i) {
      const Chunk& chunk = chunks[static_cast<std::size_t>(i)];
      const T* image_n = image + chunk.image * s.image_size();
      const T* dy = grad_output + chunk.image * s.out_channels * P + chunk.begin;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, bfloat16>) {
        // The depth is the product's columns: fewer than a panel's (a first layer's 1 x 3 x 3)
        // would leave most of each tile empty, where Eigen's GEMM on the columns is twice as fast.
        if (s.depth() >= kPanelColumns) {
          if constexpr (std::is_same_v<T, bfloat16>) {
            if (pairs && add_filter_gradient_by_pair_panels(s, image_n, dy, chunk, partial)) continue;
          }
          add_filter_gradient_by_panels(s, image_n, dy, chunk, partial);
          continue;
        }
      }
      add_filter_gradient_by_columns(s, image_n, dy, chunk, partial);
    }
  });
  for (std::int64_t e = 0; e < weight_size; ++e) {
    C total = partials[static_cast<std::size_t>(e)];
    for (std::int64_t r = 1; r < ranges; ++r) total += partials[static_cast<std::size_t>(r * weight_size + e)];
    grad_weight[e] = static_cast<T>(total);
  }
}

// With stride 1 the image gradient is a convolution of grad_output, padded by
// dilation * (K - 1) - padding, with weight'[c, o, kh, kw] = weight[o, c, KH-1-kh, KW-1-kw]
// (per group): every gradient element is a sum it computes alone, no scatter needed. Its column
// matrix has out_channels * KH * KW rows per input position, the scatter's channels * KH * KW
// per output position: the convolution is taken only when its columns are not the larger (a
// first layer's 1 input channel against 32 outputs would make them 30 times larger).
bool backward_data_is_convolution(const ConvShape& s) {
  const ConvGeometry& g = s.g;
  return g.stride_h == 1 && g.stride_w == 1 && g.pad_h <= g.dilation_h * (g.kernel_h - 1) &&
         g.pad_w <= g.dilation_w * (g.kernel_w - 1) &&
         s.out_channels * g.height * g.width <= g.channels * g.out_h * g.out_w;
}

template <class T>
void backward_data_by_convolution(const ConvShape& s, const T* weight, const T* grad_output, T* grad_image) {
  const ConvGeometry& g = s.g;
  const std::int64_t ocg = s.group_outputs(), cg = g.channels / s.groups, window = s.window();
  std::vector<T> flipped(static_cast<std::size_t>(s.out_channels * cg * window));
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    for (std::int64_t o = 0; o < ocg; ++o) {
      for (std::int64_t c = 0; c < cg; ++c) {
        for (std::int64_t k = 0; k < window; ++k) {
          // weight[grp*ocg + o, c, k] -> flipped[grp*cg + c, o, window-1-k]
          flipped[static_cast<std::size_t>(((grp * cg + c) * ocg + o) * window + (window - 1 - k))] =
              weight[((grp * ocg + o) * cg + c) * window + k];
        }
      }
    }
  }
  const ConvGeometry adjoint{g.batch,
                             s.out_channels,
                             g.out_h,
                             g.out_w,
                             g.kernel_h,
                             g.kernel_w,
                             1,
                             1,
                             g.dilation_h * (g.kernel_h - 1) - g.pad_h,
                             g.dilation_w * (g.kernel_w - 1) - g.pad_w,
                             g.dilation_h,
                             g.dilation_w,
                             g.height,
                             g.width};
  forward<T>({adjoint, g.channels, s.groups}, grad_output, flipped.data(), grad_image);
}

// The image gradient in f32, or in bf16 on the dot-product kernel, by columns: each group's
// W_g^T packed once per call as the micro-kernel's A; per chunk, dy packed as B and the f32
// columns cols_g [depth, width] = W_g^T @ dy_g written with their columns rounded up to whole
// panels (whose zero padding makes the extra ones zero, so that only a group's last rows take
// the slower edge path), then added onto the image (in f32: bf16 images are summed in an f32
// copy and rounded once). Chunks of one image overlap on it, so they are added in order: each
// image goes to one thread, or, with fewer images than threads, the threads share each chunk,
// the products by row panels of W^T and the adding by channels.
template <class T>
void backward_data_by_panels(const ConvShape& s, const T* weight, const T* grad_output, T* grad_image) {
  const ConvGeometry& g = s.g;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), image = s.image_size();
  const PanelLayout layout = panel_layout(dtype_of<T>);
  const std::int64_t row_panels = ceil_div(depth, layout.rows);
  const std::int64_t row_bytes = layout.a_bytes(layout.rows, ocg) / layout.rows;  // of one packed row of A
  const PackedWeights packed_weights(s, weight, true);
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(T));
  if (chunks.empty()) return;  // an empty batch: no image to write
  const std::int64_t per_image = static_cast<std::int64_t>(chunks.size()) / std::max<std::int64_t>(g.batch, 1);
  const std::int64_t dy_bytes = layout.b_panels(chunks.front().size()) * layout.b_panel_elements(ocg) *
                                (layout.pairs() ? std::int64_t{2} : std::int64_t{4});

  // The steps of one chunk of image n, each over its items, in this order: pack dy per group;
  // multiply per (group, row panel of A); add per channel (onto `sums`, image n's f32 gradient).
  struct Step {
    const std::int64_t width, ld;
    const T* dy;
    std::byte* packed_dy;
    float *cols, *sums;
  };
  auto pack = [&](const Step& step, std::int64_t grp) {
    pack_rhs(dtype_of<T>, ocg, step.width, {step.dy + grp * ocg * P, P, 1}, step.packed_dy + grp * dy_bytes);
  };
  auto multiply = [&](const Step& step, std::int64_t item) {
    const std::int64_t grp = item / row_panels, row = item % row_panels * layout.rows;
    multiply_packed(layout, std::min(layout.rows, depth - row), step.ld, ocg,
                    packed_weights.group(grp) + row * row_bytes, step.packed_dy + grp * dy_bytes,
                    step.cols + (grp * depth + row) * step.ld, step.ld, false);
  };
  auto make_step = [&](std::int64_t n, const Chunk& chunk, float* sums) {
    const std::int64_t width = chunk.size(), ld = layout.b_panels(width) * layout.columns;
    return Step{width, ld, grad_output + n * s.out_channels * P + chunk.begin,
                thread_scratch<std::byte>(Slot::gradient, s.groups * dy_bytes),
                thread_scratch<float>(Slot::columns, s.rows() * ld), sums};
  };
  auto chunks_of = [&](std::int64_t n) {
    return std::span(chunks).subspan(static_cast<std::size_t>(n * per_image), static_cast<std::size_t>(per_image));
  };
  // Image n's f32 gradient: the output itself in f32; for bf16, `sums` rounded into it.
  auto finish = [&](std::int64_t n, const float* sums) {
    if constexpr (!std::is_same_v<T, float>) convert_row(sums, image, grad_image + n * image);
  };
  auto sums_of = [&](std::int64_t n, float* scratch) {
    if constexpr (std::is_same_v<T, float>) {
      return grad_image + n * image;
    } else {
      return scratch;
    }
  };
  if (g.batch >= omp_get_max_threads()) {
    for_each_item(g.batch, [&](std::int64_t n) {
      float* sums = sums_of(n, thread_scratch<float>(Slot::image, image));
      std::fill(sums, sums + image, 0.0f);
      for (const Chunk& chunk : chunks_of(n)) {
        const Step step = make_step(n, chunk, sums);
        for (std::int64_t grp = 0; grp < s.groups; ++grp) pack(step, grp);
        for (std::int64_t item = 0; item < s.groups * row_panels; ++item) multiply(step, item);
        add_columns(g, step.cols, step.ld, chunk, sums, std::int64_t{0}, g.channels);
      }
      finish(n, sums);
    });
    return;
  }
  for (std::int64_t n = 0; n < g.batch; ++n) {
    float* sums = sums_of(n, thread_scratch<float>(Slot::image, image));  // the calling thread's, shared
    std::fill(sums, sums + image, 0.0f);
    for (const Chunk& chunk : chunks_of(n)) {
      const Step step = make_step(n, chunk, sums);  // the calling thread's buffers, shared by the team
#pragma omp parallel
      {
#pragma omp for schedule(static)
        for (std::int64_t grp = 0; grp < s.groups; ++grp) pack(step, grp);
#pragma omp for schedule(static)
        for (std::int64_t item = 0; item < s.groups * row_panels; ++item) multiply(step, item);
#pragma omp for schedule(static)
        for (std::int64_t c = 0; c < g.channels; ++c) add_columns(g, step.cols, step.ld, chunk, step.sums, c, c + 1);
      }
    }
    finish(n, sums);
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
      std::fill(grad_n, grad_n + s.image_size(), C(0));
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

}  // namespace

void conv2d_forward(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                    const void* image, const void* weight, void* output) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
  dispatch_floating(dtype, "conv2d", [&]<class T>() {
    forward<T>({g, out_channels, groups}, static_cast<const T*>(image), static_cast<const T*>(weight),
               static_cast<T*>(output));
  });
}

void conv2d_backward_data(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                          const void* weight, const void* grad_output, void* grad_image) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
  dispatch_floating(dtype, "conv2d_backward_data", [&]<class T>() {
    const ConvShape s{g, out_channels, groups};
    const T* w = static_cast<const T*>(weight);
    const T* dy = static_cast<const T*>(grad_output);
    T* dx = static_cast<T*>(grad_image);
    if (backward_data_is_convolution(s)) {
      backward_data_by_convolution<T>(s, w, dy, dx);
    } else if constexpr (std::is_same_v<T, float>) {
      backward_data_by_panels(s, w, dy, dx);
    } else if constexpr (std::is_same_v<T, bfloat16>) {
      if (cpu_isa() >= Isa::avx512_bf16) return backward_data_by_panels(s, w, dy, dx);
      backward_data_by_scatter<T>(s, w, dy, dx);
    } else {
      backward_data_by_scatter<T>(s, w, dy, dx);
    }
  });
}

void conv2d_backward_filter(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                            const void* image, const void* grad_output, void* grad_weight) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
  dispatch_floating(dtype, "conv2d_backward_filter", [&]<class T>() {
    backward_filter<T>({g, out_channels, groups}, static_cast<const T*>(image), static_cast<const T*>(grad_output),
                       static_cast<T*>(grad_weight));
  });
}

}  // namespace ember::kernels::cpu
