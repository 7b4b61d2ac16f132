#pragma once
// 2 x 2 convolutions with stride 2 and no padding (the U-Net's up-convolution, whose forward is
// such a convolution's input gradient and whose input gradient is its forward) computed
// directly, in f32 on AVX-512. Their taps never overlap, so each direction is four pointwise
// products whose inputs or results interleave by column: no column matrix, and for the input
// gradient no col2im (which a product as shallow as the up-convolution's, depth 32, would spend
// most of its time writing and adding).
//
// The input gradient: dx[c][2 i + a][2 j + b] = sum over o of W[o][c][a][b] * dy[o][i][j]. A
// tile holds, for one output row 2 i + a, 4 channels c by both columns b by 3 vectors of 16
// consecutive j: per output channel o of dy, 3 vector loads of dy's row i and 8 broadcast
// weights feed 24 multiply-adds. The two columns' vectors are then interleaved in registers into
// 32 consecutive outputs and stored.
#include <immintrin.h>

#include <bit>
#include <cstdint>

#include "kernels/cpu/conv_forward_rows.h"  // kRowTileChannels, kRowTileVectors, clear_tile, copy_tile

namespace ember::kernels::cpu {

// Channels of dx per input-gradient tile (the tiles of both directions take up to
// kRowTileVectors vectors of 16 j).
inline constexpr std::int64_t kUpsampleTileChannels = 4;

// W [OC, C, 2, 2] of one group as the tiles read it: for channels c0 .. c0 + 3 and tap row a, at
// ((c0 / 4) * 2 + a) * OC * 8, per output channel o the 8 weights W[o][c0 + t][a][b] at o * 8 + t
// * 2 + b (zero for channels past `channels`).
inline void pack_upsample_weights(const float* weight, std::int64_t out_channels, std::int64_t channels,
                                  float* packed) {
  for (std::int64_t c0 = 0; c0 < channels; c0 += kUpsampleTileChannels) {
    for (std::int64_t a = 0; a < 2; ++a) {
      for (std::int64_t o = 0; o < out_channels; ++o) {
        for (std::int64_t t = 0; t < kUpsampleTileChannels; ++t) {
          for (std::int64_t b = 0; b < 2; ++b) {
            const std::int64_t c = c0 + t;
            *packed++ = c < channels ? weight[((o * channels + c) * 2 + a) * 2 + b] : 0.0f;
          }
        }
      }
    }
  }
}

// dx rows (+)= one tile: dy_j0 = dy's row i from column j0 (channel o at o * dy_stride), w the
// packed weights of the tile's channels and tap row a, `lanes` the real columns of the last
// vector (all 16 before it), out = dx's row 2 i + a of the tile's first channel at column 2 j0
// (channel c at c * dx_stride), `channels` of the 4 real.
template <int V>
[[gnu::noinline]] __attribute__((target("avx512f"))) void upsample_tile(
    const float* dy_j0, std::int64_t dy_stride, std::int64_t out_channels, const float* w, __mmask16 lanes,
    std::int64_t channels, std::int64_t dx_stride, bool accumulate, float* out) {
  constexpr int C = kUpsampleTileChannels;
  __m512 acc[C][2][V];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
#pragma GCC unroll 2
    for (int b = 0; b < 2; ++b) {
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) acc[c][b][v] = _mm512_setzero_ps();
    }
  }
  for (std::int64_t o = 0; o < out_channels; ++o, w += 2 * C) {
    const float* row = dy_j0 + o * dy_stride;
    __m512 inputs[V];
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) {
      inputs[v] = v + 1 < V ? _mm512_loadu_ps(row + 16 * v) : _mm512_maskz_loadu_ps(lanes, row + 16 * v);
    }
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
#pragma GCC unroll 2
      for (int b = 0; b < 2; ++b) {
        const __m512 weight = _mm512_set1_ps(w[2 * c + b]);
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) acc[c][b][v] = _mm512_fmadd_ps(weight, inputs[v], acc[c][b][v]);
      }
    }
  }
  // Output column 2 j + b takes lane j of column b: the low halves of both interleaved, then the
  // high halves.
  const __m512i low = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i high = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  __m512 sums[C][2][V];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
#pragma GCC unroll 3
    for (int v = 0; v < V; ++v) {
      sums[c][0][v] = _mm512_permutex2var_ps(acc[c][0][v], low, acc[c][1][v]);
      sums[c][1][v] = _mm512_permutex2var_ps(acc[c][0][v], high, acc[c][1][v]);
    }
  }
  // The last vector's 16 lanes of j are 32 output columns: the first half's lanes, then the
  // second's.
  const unsigned columns = static_cast<unsigned>(std::popcount(static_cast<unsigned>(lanes))) * 2;
  const auto first_half = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
  const auto second_half = static_cast<__mmask16>(columns > 16 ? (1u << (columns - 16)) - 1 : 0);
  for (int c = 0; c < C; ++c) {
    if (c >= channels) continue;
    for (int v = 0; v < V; ++v) {
      for (int h = 0; h < 2; ++h) {
        const __mmask16 mask = v + 1 < V ? static_cast<__mmask16>(0xFFFF) : h == 0 ? first_half : second_half;
        float* at = out + c * dx_stride + 32 * v + 16 * h;
        __m512 value = sums[c][h][v];
        if (accumulate) value = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, at), value);
        _mm512_mask_storeu_ps(at, mask, value);
      }
    }
  }
}

// The forward: out[o][i][j] = sum over (c, a, b) of W[o][c][a][b] * x[c][2 i + a][2 j + b]. A
// tile holds 8 output channels by 3 vectors of 16 consecutive j of one output row i: per input
// row (c, a), 6 vector loads of x's row 2 i + a are split in registers into its even and odd
// columns (b = 0, 1), which with 16 broadcast weights feed 48 multiply-adds. The weights are
// packed as the row tiles' (pack_row_tile_weights: depth row r = 4 c + 2 a + b).

// out rows (+)= one tile: x_j0 = x's row 2 i of the first channel at column 2 j0 (channel c at
// c * x_stride, the row below at +width), w the block's packed weights, `lanes` the real j of the
// last vector, out = the output row i of the block's first channel at column j0.
template <int V>
[[gnu::noinline]] __attribute__((target("avx512f"))) void downsample_tile(
    const float* x_j0, std::int64_t x_stride, std::int64_t width, std::int64_t in_channels, const float* w,
    __mmask16 lanes, std::int64_t channels, std::int64_t out_stride, bool accumulate, float* out) {
  constexpr int O = kRowTileChannels;
  const unsigned columns = static_cast<unsigned>(std::popcount(static_cast<unsigned>(lanes))) * 2;
  const auto first_half = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1);
  const auto second_half = static_cast<__mmask16>(columns > 16 ? (1u << (columns - 16)) - 1 : 0);
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  __m512 acc[O][V];
  clear_tile(acc);
  for (std::int64_t c = 0; c < in_channels; ++c) {
    for (std::int64_t a = 0; a < 2; ++a, w += 2 * O) {
      const float* row = x_j0 + c * x_stride + a * width;
      __m512 inputs[2][V];
#pragma GCC unroll 3
      for (int v = 0; v < V; ++v) {
        const bool last = v + 1 == V;
        const __m512 low = last ? _mm512_maskz_loadu_ps(first_half, row + 32 * v) : _mm512_loadu_ps(row + 32 * v);
        const __m512 high =
            last ? _mm512_maskz_loadu_ps(second_half, row + 32 * v + 16) : _mm512_loadu_ps(row + 32 * v + 16);
        inputs[0][v] = _mm512_permutex2var_ps(low, even, high);
        inputs[1][v] = _mm512_permutex2var_ps(low, odd, high);
      }
#pragma GCC unroll 2
      for (int b = 0; b < 2; ++b) {
#pragma GCC unroll 8
        for (int o = 0; o < O; ++o) {
          const __m512 weight = _mm512_set1_ps(w[b * O + o]);
#pragma GCC unroll 3
          for (int v = 0; v < V; ++v) acc[o][v] = _mm512_fmadd_ps(weight, inputs[b][v], acc[o][v]);
        }
      }
    }
  }
  __m512 sums[O][V];
  copy_tile(acc, sums);
  for (int o = 0; o < O; ++o) {
    if (o >= channels) continue;
    for (int v = 0; v < V; ++v) {
      const __mmask16 mask = v + 1 < V ? static_cast<__mmask16>(0xFFFF) : lanes;
      float* at = out + o * out_stride + 16 * v;
      __m512 value = sums[o][v];
      if (accumulate) value = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, at), value);
      _mm512_mask_storeu_ps(at, mask, value);
    }
  }
}

}  // namespace ember::kernels::cpu
