// Convolution on the CPU (kernels/conv.h).
//
// Each product is a GEMM against a column matrix (im2col: one row per (channel, kh, kw), one
// column per output position), made for one chunk of an image's output positions at a time, so
// neither the columns of a whole batch (KH * KW times the image) nor anything for backward is
// ever held: backward rebuilds its chunks from the image. In f32, and in bf16 where the CPU has
// its dot products, no column matrix is built at all: the chunk's input rows are copied, padded,
// into a small window, and the columns are gathered from it straight into the panels the packed
// GEMM's micro-kernel reads (kernels/cpu/packed_gemm.h), one panel at a time, while the other
// operand is packed once per call. With strides of 1 and at least 16 output channels the f32
// forward skips the panels too, summing its outputs in register tiles straight from the window
// (kernels/cpu/conv_forward_rows.h, on narrow images conv_forward_direct.h), as the weight
// gradient does in f32 and bf16 (kernels/cpu/conv_filter_direct.h; where that does not serve, it
// multiplies dy by the panels transposed, the depth being its product's columns), and as both
// directions of a 2 x 2, stride-2 convolution do in f32 (kernels/cpu/conv_2x2_stride2.h: the
// U-Net's up-convolution). The input gradient otherwise computes its columns in whole tiles and
// adds them to the image input row by input row. f16, and bf16 where the kernels do not use the
// dot products (kernels/cpu/isa.h), are widened to f32 at the entry points and take the f32
// paths; f64 and the geometries no path above serves keep the column matrix and gemm(). Chunks
// run in parallel with the GEMM serial inside; bf16 products sum in f32; the results are
// rounded once.
//
// This file holds the panel paths and the entry points; conv_chunks.h what all paths share,
// conv_window.h the window and its gather, conv_direct.cpp the direct paths (their tiles in
// conv_forward_rows.h, conv_forward_direct.h, conv_filter_direct.h and conv_2x2_stride2.h),
// conv_columns.h the column-matrix path.
#include "kernels/conv.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "kernels/cpu/conv_chunks.h"
#include "kernels/cpu/conv_columns.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/conv_window.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/packed_gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/transpose.h"
#include "kernels/gemm.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

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

// B panel j of a chunk's column matrix in f32, as the GEMM reads it: row r at data + r * columns
// (packed), or, where `rows` is set, at data + rows[r] (in place in the window).
struct ColumnPanel {
  const float* data;
  const std::int64_t* rows;
  std::int64_t columns;
  const float* row(std::int64_t r) const { return data + (rows != nullptr ? rows[r] : r * columns); }
};

// Calls use(j, panel) for each B panel j (a ColumnPanel) of the chunk's column matrix (channels
// [first_channel, first_channel + channels) of an f32 or bf16 image) in order, panels of nr
// columns. On AVX-512 with a horizontal stride of 1 the chunk's rows are copied into a window,
// where the panels of whole runs of 32 positions are read in place and the others gathered just
// before their use, so that they are still in L1 when multiplied; otherwise all are gathered
// element by element first.
template <class T, class Use>
void for_each_column_panel(const ConvGeometry& g, const T* image, std::int64_t first_channel,
                           std::int64_t channels, const Chunk& chunk, std::int64_t nr, Use&& use) {
  const std::int64_t panel = channels * g.kernel_h * g.kernel_w * nr, panels = ceil_div(chunk.size(), nr);
  if (g.stride_w == 1 && nr == kPanelColumns && cpu_isa() >= Isa::avx512) {
    const WindowGather windows(g, chunk);
    if (windows.fits()) {
      float* window = thread_scratch<float>(Slot::window, windows.window_elements(channels));
      windows.copy_window(image, first_channel, channels, window);
      auto* taps = thread_scratch<std::int64_t>(Slot::taps, channels * g.kernel_h * g.kernel_w);
      windows.tap_offsets(channels, taps);
      float* packed = thread_scratch<float>(Slot::columns, panel);
      for (std::int64_t j = 0; j < panels; ++j) {
        if (windows.panel_in_place(j)) {
          use(j, ColumnPanel{window + windows.panel_origin(j), taps, nr});
        } else {
          windows.gather_panel(window, channels, j, packed);
          use(j, ColumnPanel{packed, nullptr, nr});
        }
      }
      return;
    }
  }
  float* packed = thread_scratch<float>(Slot::columns, panels * panel);
  gather_panels_by_elements(g, image, first_channel, channels, chunk, nr, packed);
  for (std::int64_t j = 0; j < panels; ++j) use(j, ColumnPanel{packed + j * panel, nullptr, nr});
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
                            [&](std::int64_t j, const ColumnPanel& panel) {
                              float* c = out + grp * ocg * P + j * nr;
                              if (panel.rows != nullptr) {
                                return multiply_in_place(layout, ocg, depth, a, panel.data, panel.rows, c, P,
                                                         s.accumulate);
                              }
                              multiply_packed(layout, ocg, std::min(nr, chunk.size() - j * nr), depth, a, panel.data,
                                              c, P, s.accumulate);
                            });
    }
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
    windows.tap_offsets(cg, taps);
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
        for (std::int64_t o = 0; o < ocg; ++o) store_row(sums + o * nr, n, s.accumulate, out + o * P);
      }
    }
  });
}

template <class T>
void forward(const ConvShape& s, const T* image, const T* weight, T* output) {
  if constexpr (std::is_same_v<T, float>) {
    if (forward_is_direct(s)) return forward_directly(s, image, weight, output);
    if (forward_is_downsampling(s)) return forward_by_downsampling(s, image, weight, output);
    forward_by_panels(s, image, weight, output);
  } else if constexpr (std::is_same_v<T, bfloat16>) {  // on the dot-product kernel (widened_to_f32)
    if (s.g.stride_w == 1) return forward_by_pair_panels(s, image, weight, output);
    forward_by_columns(s, image, weight, output);
  } else {
    forward_by_columns(s, image, weight, output);
  }
}

// The weight gradient multiplies dy [OCg, width] by the transposed column matrix [width, depth],
// so its B panels run along depth: (q, r) at r / nr * width * nr + q * nr + r % nr (zero for r
// past the depth). Each of the forward's panels (positions q0 .. q0 + nr - 1: (r, q) at
// panel.row(r) + q - q0) fills their rows q0 .. q0 + nr - 1, on AVX-512 (nr = 32) by 16 x 16
// blocks transposed in registers.
__attribute__((target("avx512f"))) void transpose_panel_avx512(const ColumnPanel& panel, std::int64_t depth,
                                                                std::int64_t width, std::int64_t q0,
                                                                float* transposed) {
  constexpr std::int64_t nr = 32;
  for (std::int64_t r0 = 0; r0 < depth; r0 += nr) {
    for (std::int64_t q = q0; q < std::min(q0 + nr, width); q += 16) {
      for (std::int64_t half = 0; half < nr; half += 16) {
        __m512 rows[16];
        for (std::int64_t t = 0; t < 16; ++t) {
          const std::int64_t r = r0 + half + t;
          rows[t] = r < depth ? _mm512_loadu_ps(panel.row(r) + q - q0) : _mm512_setzero_ps();
        }
        transpose_16x16(rows);
        float* out = transposed + r0 * width + q * nr + half;
        for (std::int64_t i = 0; i < std::min<std::int64_t>(16, width - q); ++i) _mm512_storeu_ps(out + i * nr, rows[i]);
      }
    }
  }
}

void transpose_panel(const ColumnPanel& panel, std::int64_t depth, std::int64_t width, std::int64_t q0,
                     std::int64_t nr, float* transposed) {
  if (nr == 32 && cpu_isa() >= Isa::avx512) return transpose_panel_avx512(panel, depth, width, q0, transposed);
  for (std::int64_t r0 = 0; r0 < depth; r0 += nr) {
    for (std::int64_t q = q0; q < std::min(q0 + nr, width); ++q) {
      for (std::int64_t j = 0; j < nr; ++j) {
        transposed[r0 * width + q * nr + j] = r0 + j < depth ? panel.row(r0 + j)[q - q0] : 0.0f;
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
    for_each_column_panel(s.g, image_n, grp * cg, cg, chunk, nr, [&](std::int64_t j, const ColumnPanel& panel) {
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
  windows.tap_offsets(cg, taps);
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


template <class T>
void backward_filter(const ConvShape& s, const T* image, const T* grad_output, T* grad_weight) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, bfloat16>) {
    if (filter_gradient_is_direct(s, dtype_of<T>)) return backward_filter_directly(s, image, grad_output, grad_weight);
  }
  using C = compute_t<T>;
  const std::int64_t P = s.positions(), weight_size = s.out_channels * s.depth();
  const std::vector<Chunk> chunks = make_chunks(s, sizeof(operand_t<T>));
  const auto count = static_cast<std::int64_t>(chunks.size());
  const std::int64_t ranges = std::max<std::int64_t>(1, ranges_for(count));
  // One partial gradient per range, added up in range order: the same sum for the same threads.
  std::vector<C> partials(static_cast<std::size_t>(ranges * weight_size), C(0));
  // bf16 (on the dot-product kernel: widened_to_f32) in pairs where the window pattern serves
  // (stride 1 across).
  [[maybe_unused]] const bool pairs = std::is_same_v<T, bfloat16> && s.g.stride_w == 1;
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
  forward<T>({adjoint, g.channels, s.groups, s.accumulate}, grad_output, flipped.data(), grad_image);
}

// The image gradient in f32, or in bf16 on the dot-product kernel, by columns: each group's
// W_g^T packed once per call as the micro-kernel's A; per chunk, dy packed as B and the f32
// columns cols_g [depth, width] = W_g^T @ dy_g written with their columns rounded up to whole
// panels (whose zero padding makes the extra ones zero, so that only a group's last rows take
// the slower edge path), then added onto the image (in f32: bf16 images are summed in an f32
// copy and rounded once). Chunks of one image overlap on it, so they are added in order: each
// image goes to one thread, or, with fewer images than threads, the threads share each chunk,
// the packing by pieces of dy, the products by row panels of W^T and the adding by channels.
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
  const std::int64_t panel_bytes = layout.b_panel_elements(ocg) * (layout.pairs() ? std::int64_t{2} : std::int64_t{4});
  const std::int64_t dy_bytes = layout.b_panels(chunks.front().size()) * panel_bytes;

  // The steps of one chunk of image n, each over its items, in this order: pack dy per group (or
  // per piece of a group);
  // multiply per (group, row panel of A); add per channel (onto `sums`, image n's f32 gradient).
  struct Step {
    const std::int64_t width, ld;
    const T* dy;
    std::byte* packed_dy;
    float *cols, *sums;
  };
  // Item `item` of `pieces` per group: group item / pieces's dy, a share of its panels, packed.
  auto pack = [&](const Step& step, std::int64_t item, std::int64_t pieces) {
    const std::int64_t grp = item / pieces, piece = item % pieces, panels = layout.b_panels(step.width);
    const std::int64_t first = piece * panels / pieces, last = (piece + 1) * panels / pieces;
    const std::int64_t j0 = first * layout.columns, n = std::min(step.width, last * layout.columns) - j0;
    if (n <= 0) return;
    pack_rhs(dtype_of<T>, ocg, n, {step.dy + grp * ocg * P + j0, P, 1},
             step.packed_dy + grp * dy_bytes + first * panel_bytes);
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
      start_sums(grad_image + n * image, image, s.accumulate, sums);
      for (const Chunk& chunk : chunks_of(n)) {
        const Step step = make_step(n, chunk, sums);
        for (std::int64_t grp = 0; grp < s.groups; ++grp) pack(step, grp, 1);
        for (std::int64_t item = 0; item < s.groups * row_panels; ++item) multiply(step, item);
        add_columns(g, step.cols, step.ld, chunk, sums, std::int64_t{0}, g.channels);
      }
      finish(n, sums);
    });
    return;
  }
  const std::int64_t team = omp_get_max_threads();  // each group's packing is cut in as many pieces
  for (std::int64_t n = 0; n < g.batch; ++n) {
    float* sums = sums_of(n, thread_scratch<float>(Slot::image, image));  // the calling thread's, shared
    start_sums(grad_image + n * image, image, s.accumulate, sums);
    for (const Chunk& chunk : chunks_of(n)) {
      const Step step = make_step(n, chunk, sums);  // the calling thread's buffers, shared by the team
#pragma omp parallel
      {
#pragma omp for schedule(static)
        for (std::int64_t item = 0; item < s.groups * team; ++item) pack(step, item, team);
#pragma omp for schedule(static)
        for (std::int64_t item = 0; item < s.groups * row_panels; ++item) multiply(step, item);
#pragma omp for schedule(static)
        for (std::int64_t c = 0; c < g.channels; ++c) add_columns(g, step.cols, step.ld, chunk, step.sums, c, c + 1);
      }
    }
    finish(n, sums);
  }
}

template <class T>
void backward_data(const ConvShape& s, const T* w, const T* dy, T* dx) {
  if (backward_data_is_convolution(s)) return backward_data_by_convolution<T>(s, w, dy, dx);
  if constexpr (std::is_same_v<T, float>) {
    if (backward_data_is_upsampling(s)) return backward_data_by_upsampling(s, w, dy, dx);
    backward_data_by_panels(s, w, dy, dx);
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    backward_data_by_panels(s, w, dy, dx);  // reached on the dot-product kernel only (widened_to_f32)
  } else {
    backward_data_by_scatter<T>(s, w, dy, dx);
  }
}

// Whether T is convolved as f32: f16 always, and bf16 unless the kernels use the dot products
// (kernels/cpu/isa.h). Widening is exact and the f32 paths sum in f32 as the half ones do, so the
// result is the same up to the order of the sums, rounded once; the f32 copies of the operands
// cost a pass over each and twice their memory while the call lasts.
template <class T>
bool widened_to_f32() {
  return std::is_same_v<T, half> || (std::is_same_v<T, bfloat16> && cpu_isa() < Isa::avx512_bf16);
}

// An f32 buffer of `size` elements, unset.
std::unique_ptr<float[]> f32_buffer(std::int64_t size) { return std::unique_ptr<float[]>(new float[static_cast<std::size_t>(size)]); }

// data's `size` elements widened to f32.
template <class T>
std::unique_ptr<float[]> widened(const T* data, std::int64_t size) {
  std::unique_ptr<float[]> wide = f32_buffer(size);
  parallel_for(size, 1, [&](std::int64_t begin, std::int64_t end) { convert_row(data + begin, end - begin, wide.get() + begin); });
  return wide;
}

// to = from, or with `accumulate` to + from, rounded once to T.
template <class T>
void round_into(const float* from, std::int64_t size, bool accumulate, T* to) {
  parallel_for(size, 1, [&](std::int64_t begin, std::int64_t end) { store_row(from + begin, end - begin, accumulate, to + begin); });
}

}  // namespace

void conv2d_forward(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                    const void* image, const void* weight, void* output, bool accumulate) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
  dispatch_floating(dtype, "conv2d", [&]<class T>() {
    const ConvShape s{g, out_channels, groups, accumulate};
    const T* x = static_cast<const T*>(image);
    const T* w = static_cast<const T*>(weight);
    T* y = static_cast<T*>(output);
    if (!widened_to_f32<T>()) return forward<T>(s, x, w, y);
    // The f32 products alone, added to what the output holds (the bias) as they are rounded.
    const std::int64_t output_size = g.batch * out_channels * s.positions();
    const auto products = f32_buffer(output_size);
    forward<float>({g, out_channels, groups}, widened(x, g.batch * s.image_size()).get(),
                   widened(w, out_channels * s.depth()).get(), products.get());
    round_into(products.get(), output_size, accumulate, y);
  });
}

void conv2d_backward_data(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                          const void* weight, const void* grad_output, void* grad_image, bool accumulate) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
  dispatch_floating(dtype, "conv2d_backward_data", [&]<class T>() {
    const ConvShape s{g, out_channels, groups, accumulate};
    const T* w = static_cast<const T*>(weight);
    const T* dy = static_cast<const T*>(grad_output);
    T* dx = static_cast<T*>(grad_image);
    if (!widened_to_f32<T>()) return backward_data<T>(s, w, dy, dx);
    const std::int64_t image_size = g.batch * s.image_size();
    const auto gradient = f32_buffer(image_size);
    backward_data<float>({g, out_channels, groups}, widened(w, out_channels * s.depth()).get(),
                         widened(dy, g.batch * out_channels * s.positions()).get(), gradient.get());
    round_into(gradient.get(), image_size, accumulate, dx);
  });
}

void conv2d_backward_filter(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                            const void* image, const void* grad_output, void* grad_weight) {
  (void)cpu_isa();  // reads EMBER_CPU_ISA before the parallel loops: a bad value is an Error there
  dispatch_floating(dtype, "conv2d_backward_filter", [&]<class T>() {
    const ConvShape s{g, out_channels, groups};
    const T* x = static_cast<const T*>(image);
    const T* dy = static_cast<const T*>(grad_output);
    T* dw = static_cast<T*>(grad_weight);
    if (!widened_to_f32<T>()) return backward_filter<T>(s, x, dy, dw);
    const std::int64_t weight_size = out_channels * s.depth();
    const auto gradient = f32_buffer(weight_size);
    backward_filter<float>(s, widened(x, g.batch * s.image_size()).get(),
                           widened(dy, g.batch * out_channels * s.positions()).get(), gradient.get());
    round_into(gradient.get(), weight_size, false, dw);
  });
}

}  // namespace ember::kernels::cpu
