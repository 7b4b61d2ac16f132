#pragma once
// The forward convolution of the CPU computed straight from a chunk's window (conv_window.h) into
// the output's own layout, in f32 on AVX-512, for strides of 1. Output position (oh, ow) of the
// chunk is window coordinate v = (oh - first row) * Wp + ow, whose input under tap r is at
// window[taps[r] + v]: 16 consecutive coordinates read 16 consecutive inputs under every tap,
// across row ends too. A tile holds 8 output channels by 3 vectors of 16 coordinates,
// out[o][v] = sum over r of W[o][r] * window[taps[r] + v], in registers over the whole depth:
// per tap 3 vector loads of the window and 8 broadcast weights feed 24 multiply-adds. The
// coordinates past a row's last output (its Wp - out_w junk columns) are computed with the rest;
// each vector's real outputs, consecutive positions of the output, are packed together in a
// register and stored with one masked store per output channel, so nothing is transposed or
// copied after the tile.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/conv_filter_direct.h"  // PositionRun, clear_tile, copy_tile

namespace ember::kernels::cpu {

// Output channels and (at most) coordinate vectors of a tile.
inline constexpr std::int64_t kRowTileChannels = 8, kRowTileVectors = 3;

// Where the real outputs of 16 coordinates go: lanes (bit t: coordinate 16 j + t is an output)
// and the output position, from the chunk's first, of the first of them.
struct CoordinateVector {
  std::uint32_t lanes = 0;
  std::int64_t first = 0;
};

// The coordinate vectors of a chunk whose runs (output rows, from `origin` on) span
// `coordinates` (the last one's lanes past the runs empty).
inline std::vector<CoordinateVector> coordinate_vectors(std::span<const PositionRun> runs, std::int64_t origin,
                                                        std::int64_t coordinates) {
  std::vector<CoordinateVector> vectors(static_cast<std::size_t>((coordinates + 15) / 16));
  for (const PositionRun& run : runs) {
    for (std::int64_t q = 0; q < run.count; ++q) {
      const std::int64_t v = run.origin - origin + q;
      CoordinateVector& vector = vectors[static_cast<std::size_t>(v / 16)];
      if (vector.lanes == 0) vector.first = run.first + q;
      vector.lanes |= 1u << (v % 16);
    }
  }
  return vectors;
}

// W of one group [outputs, depth] as the tiles read it: the block of output channels 8 b .. 8 b +
// 7 at b * depth * 8, W[8 b + o][r] at r * 8 + o (zero past `outputs`), so that a tile broadcasts
// its weights from one sequential run of memory.
inline void pack_row_tile_weights(const float* weight, std::int64_t outputs, std::int64_t depth, float* packed) {
  for (std::int64_t o0 = 0; o0 < outputs; o0 += kRowTileChannels) {
    for (std::int64_t r = 0; r < depth; ++r) {
      for (std::int64_t o = 0; o < kRowTileChannels; ++o) {
        *packed++ = o0 + o < outputs ? weight[(o0 + o) * depth + r] : 0.0f;
      }
    }
  }
}

// out[o * stride + position] (+)= the tile's outputs for its first `channels` (at most 8) output
// channels at the coordinates window_v0 .. + 16 V - 1 (vectors: their V CoordinateVectors), the
// block's packed weights at w. Never inlined: inlined into the chunk loop, GCC 12 keeps the
// accumulators of the narrower tiles in memory.
template <int V>
[[gnu::noinline]] __attribute__((target("avx512f"))) void forward_row_tile(
    const float* window_v0, const std::int64_t* taps, std::int64_t depth, const float* w,
    const CoordinateVector* vectors, std::int64_t channels, std::int64_t stride, bool accumulate, float* out) {
  constexpr int O = kRowTileChannels;
  // Every loop over the accumulators is unrolled (constant indices), so that they stay in
  // registers; the stores below, bounded by `channels`, read a copy.
  __m512 acc[O][V];
  clear_tile(acc);
  for (std::int64_t r = 0; r < depth; ++r, w += O) {
    const float* x = window_v0 + taps[r];
    __m512 inputs[V];
    for (int k = 0; k < V; ++k) inputs[k] = _mm512_loadu_ps(x + 16 * k);
#pragma GCC unroll 8
    for (int o = 0; o < O; ++o) {
      const __m512 weight = _mm512_set1_ps(w[o]);
#pragma GCC unroll 3
      for (int k = 0; k < V; ++k) acc[o][k] = _mm512_fmadd_ps(weight, inputs[k], acc[o][k]);
    }
  }
  __m512 sums[O][V];
  copy_tile(acc, sums);
  for (int k = 0; k < V; ++k) {
    const auto lanes = static_cast<__mmask16>(vectors[k].lanes);
    if (lanes == 0) continue;
    const auto packed = static_cast<__mmask16>((1u << std::popcount(vectors[k].lanes)) - 1);
    for (int o = 0; o < std::min<std::int64_t>(O, channels); ++o) {
      float* at = out + o * stride + vectors[k].first;
      __m512 value = lanes == 0xFFFF ? sums[o][k] : _mm512_maskz_compress_ps(lanes, sums[o][k]);
      if (accumulate) value = _mm512_add_ps(_mm512_maskz_loadu_ps(packed, at), value);
      _mm512_mask_storeu_ps(at, packed, value);
    }
  }
}

// Calls tile.template operator()<V>(j) for `count` vectors of 16, V = kRowTileVectors (3) at a
// time from vector j on and the last 1 or 2 together: the tiles of this file and of
// conv_2x2_stride2.h take up to 3 vectors.
template <class Tile>
void for_each_vector_tile(std::int64_t count, const Tile& tile) {
  std::int64_t j = 0;
  for (; j + kRowTileVectors <= count; j += kRowTileVectors) tile.template operator()<3>(j);
  if (count - j == 2) {
    tile.template operator()<2>(j);
  } else if (count - j == 1) {
    tile.template operator()<1>(j);
  }
}

// forward_row_tile over a chunk's coordinate vectors.
inline void forward_row_tiles(const float* window, const std::int64_t* taps, std::int64_t depth, const float* w,
                              std::span<const CoordinateVector> vectors, std::int64_t channels,
                              std::int64_t stride, bool accumulate, float* out) {
  for_each_vector_tile(static_cast<std::int64_t>(vectors.size()), [&]<int V>(std::int64_t j) {
    forward_row_tile<V>(window + 16 * j, taps, depth, w, vectors.data() + j, channels, stride, accumulate, out);
  });
}

}  // namespace ember::kernels::cpu
