// The CPU convolution's direct paths (kernels/cpu/conv_direct.h): the chunks, windows, dy^T and
// rows around the register tiles of conv_forward_rows.h, conv_forward_direct.h,
// conv_filter_direct.h and conv_2x2_stride2.h.
#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "kernels/cpu/conv_2x2_stride2.h"
#include "kernels/cpu/conv_filter_direct.h"
#include "kernels/cpu/conv_forward_direct.h"
#include "kernels/cpu/conv_forward_rows.h"
#include "kernels/cpu/conv_window.h"
#include "kernels/cpu/isa.h"

namespace ember::kernels::cpu {

namespace {

// The output channels of a group rounded up to whole vectors: the row length of W^T, out^T and
// dW^T.
std::int64_t vectors_ld(const ConvShape& s) { return ceil_div(s.group_outputs(), 16) * 16; }

// The chunk's positions cut at output rows (each at most kFilterBlockPositions long), with their
// window coordinates; row counts dy^T's rows: one per position (f32) or position pair (bf16).
std::vector<PositionRun> position_runs(const ConvGeometry& g, const Chunk& chunk, const ChunkWindow& windows,
                                       bool pairs) {
  std::vector<PositionRun> runs;
  std::int64_t rows = 0;
  for (std::int64_t p = chunk.begin; p < chunk.end;) {
    const std::int64_t row = p / g.out_w, column = p % g.out_w;
    const std::int64_t count = std::min({g.out_w - column, chunk.end - p, kFilterBlockPositions});
    runs.push_back({p - chunk.begin, count, windows.offset(row, column), rows});
    rows += pairs ? ceil_div(count, 2) : count;
    p += count;
  }
  return runs;
}

// The window coordinate of each of the runs' positions, from `origin` (the first run's) on: the
// out^T tiles' positions (conv_forward_direct.h), junk columns left out.
std::vector<std::int64_t> position_coordinates(std::span<const PositionRun> runs, std::int64_t origin) {
  std::vector<std::int64_t> coordinates;
  for (const PositionRun& run : runs) {
    for (std::int64_t q = 0; q < run.count; ++q) coordinates.push_back(run.origin - origin + q);
  }
  return coordinates;
}

// The direct paths' chunks: whole output rows, as many per chunk as keep its window (of
// `element_bytes` elements) within kWindowBytes (the tiles reread it for every block of output
// channels, so it should stay in the core's L2; fewer, taller chunks copy fewer rows twice), and
// at least as many chunks overall as there are threads.
constexpr std::int64_t kWindowBytes = std::int64_t{512} << 10;

std::vector<Chunk> window_chunks(const ConvShape& s, std::size_t element_bytes) {
  const ConvGeometry& g = s.g;
  const std::int64_t row_bytes =
      g.channels / s.groups * (g.width + 2 * g.pad_w) * static_cast<std::int64_t>(element_bytes);
  const std::int64_t window_rows = std::max<std::int64_t>(1, kWindowBytes / row_bytes);
  const std::int64_t fits = std::max<std::int64_t>(1, (window_rows - (g.kernel_h - 1) * g.dilation_h) / g.stride_h);
  const std::int64_t threads_per_image = ceil_div(omp_get_max_threads(), std::max<std::int64_t>(g.batch, 1));
  const std::int64_t pieces = std::max(threads_per_image, ceil_div(g.out_h, fits));
  const std::int64_t rows = ceil_div(g.out_h, pieces);  // pieces of equal height
  std::vector<Chunk> chunks;
  for (std::int64_t n = 0; n < g.batch; ++n) {
    for (std::int64_t row = 0; row < g.out_h; row += rows) {
      chunks.push_back({n, row * g.out_w, std::min(g.out_h, row + rows) * g.out_w});
    }
  }
  return chunks;
}

// sums [groups, depth, ld] (dW^T per group) += one chunk's weight gradient, directly from its
// window (of f32, or of bf16 words): per group the window copied, dy transposed (in position
// pairs for bf16) and the tiles of conv_filter_direct.h run over the chunk's positions, output
// row by output row.
template <class T>
void add_filter_gradient_directly(const ConvShape& s, const T* image_n, const T* dy, const Chunk& chunk,
                                  float* sums) {
  constexpr bool pairs = std::is_same_v<T, bfloat16>;
  using E = std::conditional_t<pairs, std::uint16_t, float>;          // of the window
  using D = std::conditional_t<pairs, std::uint32_t, float>;          // of dy^T
  const ConvGeometry& g = s.g;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), cg = g.channels / s.groups;
  const std::int64_t ld = vectors_ld(s);
  const ChunkWindow windows(g, chunk);
  E* window = thread_scratch<E>(Slot::window, windows.window_elements(cg));
  std::vector<const E*> streams;
  for (std::int64_t c = 0; c < cg; ++c) {
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) streams.push_back(window + windows.tap_offset(c, kh, 0));
  }
  const std::vector<PositionRun> runs = position_runs(g, chunk, windows, pairs);
  const std::int64_t rows = runs.back().row + (pairs ? ceil_div(runs.back().count, 2) : runs.back().count);
  D* dy_t = thread_scratch<D>(Slot::gradient, rows * ld);
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    windows.copy_window(image_n, grp * cg, cg, window);
    const T* dy_g = dy + grp * ocg * P;
    if constexpr (pairs) {
      transpose_gradient_pairs(reinterpret_cast<const std::uint16_t*>(dy_g), P, ocg, runs, ld, dy_t);
    } else {
      transpose_gradient(dy_g, P, ocg, chunk.size(), ld, dy_t);
    }
    float* group_sums = sums + grp * depth * ld;
    if (g.kernel_w == 3) {
      add_filter_gradient_tiles<3, E>(streams, runs, g.stride_w, dy_t, ld, group_sums);
    } else {
      add_filter_gradient_tiles<2, E>(streams, runs, g.stride_w, dy_t, ld, group_sums);
    }
  }
}

// backward_filter_directly for T = float or bfloat16.
template <class T>
void backward_filter_directly_typed(const ConvShape& s, const T* image, const T* grad_output, T* grad_weight) {
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), ld = vectors_ld(s);
  const std::int64_t sums_size = s.groups * depth * ld;
  const std::vector<Chunk> chunks = window_chunks(s, sizeof(T));
  const auto count = static_cast<std::int64_t>(chunks.size());
  const std::int64_t ranges = std::max<std::int64_t>(1, ranges_for(count));
  std::vector<float> partials(static_cast<std::size_t>(ranges * sums_size), 0.0f);
  for_each_range(count, ranges, [&](std::int64_t range, std::int64_t first, std::int64_t last) {
    for (std::int64_t i = first; i < last; ++i) {
      const Chunk& chunk = chunks[static_cast<std::size_t>(i)];
      add_filter_gradient_directly(s, image + chunk.image * s.image_size(),
                                   grad_output + chunk.image * s.out_channels * P + chunk.begin, chunk,
                                   partials.data() + range * sums_size);
    }
  });
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    for (std::int64_t o = 0; o < ocg; ++o) {
      for (std::int64_t r = 0; r < depth; ++r) {
        const std::int64_t e = (grp * depth + r) * ld + o;
        float total = partials[static_cast<std::size_t>(e)];
        for (std::int64_t k = 1; k < ranges; ++k) total += partials[static_cast<std::size_t>(k * sums_size + e)];
        grad_weight[(grp * ocg + o) * depth + r] = static_cast<T>(total);
      }
    }
  }
}

// Whether the out^T tiles serve better than the row tiles. The row tiles compute the junk
// coordinates of the padding columns with the real ones; the out^T tiles compute only real
// outputs, and where that saves at least 5% of a padded row it pays for their transpose (CNN
// layer 2: rows of 11 outputs in 13 columns). Never with 16 output channels or fewer: each
// broadcast input would then serve a single multiply-add.
bool forward_by_transposed_tiles(const ConvShape& s) {
  return s.group_outputs() > 16 && 100 * s.g.out_w <= 95 * (s.g.width + 2 * s.g.pad_w);
}

// A 2 x 2 kernel with stride 2, no padding and no dilation on AVX-512: taps that never overlap
// (conv_2x2_stride2.h).
bool is_2x2_stride_2(const ConvGeometry& g) {
  return cpu_isa() >= Isa::avx512 && g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 &&
         g.pad_h == 0 && g.pad_w == 0 && g.dilation_h == 1 && g.dilation_w == 1;
}

// Calls tile.template operator()<V>(v, lanes) over a row of `vectors` vectors of 16 columns in
// tiles of up to 3 (for_each_vector_tile), lanes the real columns of the tile's last vector (the
// row's last holds `tail`).
template <class Tile>
void for_each_column_tile(std::int64_t vectors, std::int64_t tail, const Tile& tile) {
  for_each_vector_tile(vectors, [&]<int V>(std::int64_t v) {
    const auto lanes = static_cast<__mmask16>(v + V == vectors ? (1u << tail) - 1 : 0xFFFF);
    tile.template operator()<V>(v, lanes);
  });
}

}  // namespace

bool forward_is_direct(const ConvShape& s) {
  return cpu_isa() >= Isa::avx512 && s.g.stride_h == 1 && s.g.stride_w == 1 && s.group_outputs() >= 16 &&
         !s.pointwise();
}

// The f32 forward directly from each chunk's window, in the row tiles of conv_forward_rows.h
// (8 output channels by 48 coordinates, stored straight into the output), or on narrow images in
// the out^T tiles of conv_forward_direct.h (positions by vectors of output channels, transposed
// into the output afterwards) where the padding columns the row tiles compute are enough of a
// row (below).
void forward_directly(const ConvShape& s, const float* image, const float* weight, float* output) {
  const ConvGeometry& g = s.g;
  const std::int64_t P = s.positions(), depth = s.depth(), ocg = s.group_outputs(), cg = g.channels / s.groups;
  const bool transposed = forward_by_transposed_tiles(s);
  // The weights of each group packed once: W^T by blocks of output-channel vectors (row length
  // ld) for the out^T tiles, W by blocks of 8 output channels for the row tiles.
  const std::int64_t ld = vectors_ld(s), blocks = ceil_div(ocg, kRowTileChannels);
  const std::int64_t group_packed = transposed ? depth * ld : blocks * kRowTileChannels * depth;
  std::vector<float> packed(static_cast<std::size_t>(s.groups * group_packed));
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    const float* w = weight + grp * ocg * depth;
    if (transposed) {
      pack_blocked_weights(depth, ocg, ld, [&](std::int64_t r, std::int64_t o) { return w[o * depth + r]; },
                           packed.data() + grp * group_packed);
    } else {
      pack_row_tile_weights(w, ocg, depth, packed.data() + grp * group_packed);
    }
  }
  const std::vector<Chunk> chunks = window_chunks(s, sizeof(float));
  for_each_item(static_cast<std::int64_t>(chunks.size()), [&](std::int64_t i) {
    const Chunk& chunk = chunks[static_cast<std::size_t>(i)];
    const ChunkWindow windows(g, chunk);
    const std::vector<PositionRun> runs = position_runs(g, chunk, windows, false);
    const std::int64_t origin = runs.front().origin, coordinates = runs.back().origin + runs.back().count - origin;
    float* window = thread_scratch<float>(Slot::window, windows.window_elements(cg));
    auto* taps = thread_scratch<std::int64_t>(Slot::taps, depth);
    windows.tap_offsets(cg, taps);
    const std::vector<CoordinateVector> vectors =
        transposed ? std::vector<CoordinateVector>{} : coordinate_vectors(runs, origin, coordinates);
    const std::vector<std::int64_t> coordinates_of_positions =
        transposed ? position_coordinates(runs, origin) : std::vector<std::int64_t>{};
    float* out_t = transposed ? thread_scratch<float>(Slot::columns, (chunk.size() + 16) * ld) : nullptr;
    for (std::int64_t grp = 0; grp < s.groups; ++grp) {
      windows.copy_window(image + chunk.image * s.image_size(), grp * cg, cg, window);
      const float* w = packed.data() + grp * group_packed;
      float* out = output + (chunk.image * s.out_channels + grp * ocg) * P + chunk.begin;
      if (transposed) {
        forward_tiles({window + origin, coordinates_of_positions, taps, depth, w, ld}, out_t);
        store_transposed_output(out_t, ld, chunk.size(), ocg, P, s.accumulate, out);
        continue;
      }
      for (std::int64_t b = 0; b < blocks; ++b) {
        forward_row_tiles(window + origin, taps, depth, w + b * kRowTileChannels * depth, vectors,
                          ocg - b * kRowTileChannels, P, s.accumulate, out + b * kRowTileChannels * P);
      }
    }
  });
}

bool filter_gradient_is_direct(const ConvShape& s, DType dtype) {
  const ConvGeometry& g = s.g;
  const bool kernel = cpu_isa() >= Isa::avx512 && g.dilation_w == 1 && (g.kernel_w == 2 || g.kernel_w == 3) &&
                      !s.pointwise();
  if (dtype == DType::f32) return kernel;
  return dtype == DType::bf16 && kernel && g.stride_w == 1 && cpu_isa() >= Isa::avx512_bf16;
}

void backward_filter_directly(const ConvShape& s, const float* image, const float* grad_output, float* grad_weight) {
  backward_filter_directly_typed(s, image, grad_output, grad_weight);
}

void backward_filter_directly(const ConvShape& s, const bfloat16* image, const bfloat16* grad_output,
                              bfloat16* grad_weight) {
  backward_filter_directly_typed(s, image, grad_output, grad_weight);
}

bool forward_is_downsampling(const ConvShape& s) { return is_2x2_stride_2(s.g); }

// The forward's tiles (conv_2x2_stride2.h) over every image, group and output row, in parallel.
void forward_by_downsampling(const ConvShape& s, const float* image, const float* weight, float* output) {
  const ConvGeometry& g = s.g;
  const std::int64_t ocg = s.group_outputs(), cg = g.channels / s.groups, P = s.positions(), depth = s.depth();
  const std::int64_t blocks = ceil_div(ocg, kRowTileChannels), block_packed = kRowTileChannels * depth;
  std::vector<float> packed(static_cast<std::size_t>(s.groups * blocks * block_packed));
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    pack_row_tile_weights(weight + grp * ocg * depth, ocg, depth, packed.data() + grp * blocks * block_packed);
  }
  const std::int64_t vectors = ceil_div(g.out_w, 16), tail = g.out_w - 16 * (vectors - 1);
  for_each_item(g.batch * s.groups * g.out_h, [&](std::int64_t item) {
    const std::int64_t i = item % g.out_h, grp = item / g.out_h % s.groups, n = item / g.out_h / s.groups;
    const float* x = image + (n * g.channels + grp * cg) * g.height * g.width + 2 * i * g.width;
    for (std::int64_t block = 0; block < blocks; ++block) {
      const float* w = packed.data() + (grp * blocks + block) * block_packed;
      float* out = output + (n * s.out_channels + grp * ocg + block * kRowTileChannels) * P + i * g.out_w;
      for_each_column_tile(vectors, tail, [&]<int V>(std::int64_t v, __mmask16 lanes) {
        downsample_tile<V>(x + 32 * v, g.height * g.width, g.width, cg, w, lanes, ocg - block * kRowTileChannels, P,
                           s.accumulate, out + 16 * v);
      });
    }
  });
}

bool backward_data_is_upsampling(const ConvShape& s) {
  const ConvGeometry& g = s.g;
  return is_2x2_stride_2(g) && g.height == 2 * g.out_h && g.width == 2 * g.out_w;
}

// The up-convolution's tiles (conv_2x2_stride2.h) over every image, group and row i of dy, in
// parallel: each row i writes rows 2 i and 2 i + 1 of dx, which no other row touches.
void backward_data_by_upsampling(const ConvShape& s, const float* weight, const float* grad_output,
                                 float* grad_image) {
  const ConvGeometry& g = s.g;
  const std::int64_t ocg = s.group_outputs(), cg = g.channels / s.groups, P = s.positions(), plane = g.height * g.width;
  const std::int64_t blocks = ceil_div(cg, kUpsampleTileChannels), block_packed = 2 * ocg * 2 * kUpsampleTileChannels;
  std::vector<float> packed(static_cast<std::size_t>(s.groups * blocks * block_packed));
  for (std::int64_t grp = 0; grp < s.groups; ++grp) {
    pack_upsample_weights(weight + grp * ocg * cg * 4, ocg, cg, packed.data() + grp * blocks * block_packed);
  }
  const std::int64_t vectors = ceil_div(g.out_w, 16), tail = g.out_w - 16 * (vectors - 1);
  for_each_item(g.batch * s.groups * g.out_h, [&](std::int64_t item) {
    const std::int64_t i = item % g.out_h, grp = item / g.out_h % s.groups, n = item / g.out_h / s.groups;
    const float* dy = grad_output + (n * s.out_channels + grp * ocg) * P + i * g.out_w;
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t c0 = block * kUpsampleTileChannels;
      for (std::int64_t a = 0; a < 2; ++a) {
        const float* w = packed.data() + (grp * blocks + block) * block_packed + a * ocg * 2 * kUpsampleTileChannels;
        float* dx = grad_image + (n * g.channels + grp * cg + c0) * plane + (2 * i + a) * g.width;
        for_each_column_tile(vectors, tail, [&]<int V>(std::int64_t v, __mmask16 lanes) {
          upsample_tile<V>(dy + 16 * v, P, ocg, w, lanes, cg - c0, plane, s.accumulate, dx + 32 * v);
        });
      }
    }
  });
}

}  // namespace ember::kernels::cpu
