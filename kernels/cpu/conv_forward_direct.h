#pragma once
// The forward convolution of the CPU (kernels/cpu/conv.cpp) computed straight from a chunk's
// window (conv_window.h), in f32 on AVX-512, for strides of 1. Output position (oh, ow) of the
// chunk is window coordinate v = (oh - first row) * Wp + ow, whose input under tap r is at
// window[taps[r] + v]: consecutive coordinates read consecutive inputs under every tap, across
// row ends too. So the outputs of a tile of P consecutive coordinates by OV vectors of 16 output
// channels, out^T[v][o] = sum over r of window[taps[r] + v] * W^T[r][o], stay in registers over
// the whole depth, each input broadcast from the window and each row of W^T loaded once per
// tile. The coordinates past a row's last output (its Wp - out_w junk columns) are computed with
// the rest and never stored: no column matrix and no gather, for a few per cent of extra work
// on all but the narrowest images.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <span>

#include "kernels/cpu/conv_filter_direct.h"  // PositionRun, clear_tile, for_each_vector_block
#include "kernels/cpu/transpose.h"

namespace ember::kernels::cpu {

// out_t[i * ld + 16 k + lane] = the tile's output at coordinate v0 + i, output channel 16 k +
// lane: window_v0 = window + v0, w_t the tile's block of W^T (rows of OV vectors).
template <int OV, int P>
__attribute__((target("avx512f"))) void forward_tile(const float* window_v0, const std::int64_t* taps,
                                                     std::int64_t depth, const float* w_t, std::int64_t ld,
                                                     float* out_t) {
  __m512 acc[P][OV];
  clear_tile(acc);
  for (std::int64_t r = 0; r < depth; ++r) {
    const float* x = window_v0 + taps[r];
    __m512 weights[OV];
    for (int k = 0; k < OV; ++k) weights[k] = _mm512_loadu_ps(w_t + (r * OV + k) * 16);
    for (int i = 0; i < P; ++i) {
      const __m512 input = _mm512_set1_ps(x[i]);
      for (int k = 0; k < OV; ++k) acc[i][k] = _mm512_fmadd_ps(input, weights[k], acc[i][k]);
    }
  }
  for (int i = 0; i < P; ++i) {
    for (int k = 0; k < OV; ++k) _mm512_storeu_ps(out_t + i * ld + 16 * k, acc[i][k]);
  }
}

// Positions per tile for OV vectors of output channels: 24 accumulators.
constexpr int forward_tile_positions(int ov) { return 24 / ov; }

// Coordinates a chunk's out^T must hold past its last: the last tile's overhang.
inline constexpr std::int64_t kForwardOverhang = 24;

// W^T [depth, ld] by blocks of output channels, as forward_tiles reads it: the block that starts
// at vector k0 (block_vectors wide) at k0 * 16 * depth, its rows one after another, so that a
// tile streams its weights from one sequential run of memory. weight(r, o) gives W^T[r][o] for o
// below the real output channels, past which the block holds zeros.
template <class Weight>
void pack_blocked_weights(std::int64_t depth, std::int64_t outputs, std::int64_t ld, const Weight& weight,
                          float* w_t) {
  for (std::int64_t k0 = 0; k0 < ld / 16;) {
    const std::int64_t width = block_vectors(ld / 16, k0) * 16;
    float* block = w_t + k0 * 16 * depth;
    for (std::int64_t r = 0; r < depth; ++r) {
      for (std::int64_t j = 0; j < width; ++j) {
        const std::int64_t o = k0 * 16 + j;
        block[r * width + j] = o < outputs ? weight(r, o) : 0.0f;
      }
    }
    k0 += width / 16;
  }
}

// out_t [coordinates, ld] = the outputs at the window coordinates of `runs` (from `origin`, the
// first run's, on), W^T blocked at w_t (pack_blocked_weights), in tiles of 4, 2 or 1 vectors of
// output channels. The tiles of P coordinates either run straight across the rows, junk columns
// and all, or start afresh at each run (output row), their last ones overhanging its end (into
// coordinates a later tile writes again): whichever computes fewer coordinates. A narrow image
// gains (CNN layer 2's rows of 11 outputs in 13 columns: 12 coordinates a row, not 13).
inline void forward_tiles(const float* window, std::span<const PositionRun> runs, std::int64_t origin,
                          const std::int64_t* taps, std::int64_t depth, const float* w_t, std::int64_t ld,
                          float* out_t) {
  const std::int64_t coordinates = runs.back().origin + runs.back().count - origin;
  auto pass = [&]<int OV>(std::int64_t k0) {
    constexpr int P = forward_tile_positions(OV);
    auto tiles = [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t v0 = begin; v0 < end; v0 += P) {
        forward_tile<OV, P>(window + v0, taps, depth, w_t + k0 * 16 * depth, ld, out_t + v0 * ld + 16 * k0);
      }
    };
    std::int64_t by_runs = 0;
    for (const PositionRun& run : runs) by_runs += (run.count + P - 1) / P;
    if (by_runs < (coordinates + P - 1) / P) {
      for (const PositionRun& run : runs) tiles(run.origin - origin, run.origin - origin + run.count);
    } else {
      tiles(0, coordinates);
    }
  };
  for_each_vector_block(ld / 16, pass);
}

// out[o * stride + run.first + q] (+)= out_t[(run.origin - origin + q) * ld + o] for each run's
// positions q and o < channels: out^T's rows of real positions, transposed back by 16 x 16
// blocks in registers (out_t has 16 rows of room past its last run).
__attribute__((target("avx512f"))) inline void store_transposed_output(const float* out_t, std::int64_t ld,
                                                                        std::int64_t origin,
                                                                        std::span<const PositionRun> runs,
                                                                        std::int64_t channels, std::int64_t stride,
                                                                        bool accumulate, float* out) {
  for (const PositionRun& run : runs) {
    for (std::int64_t q0 = 0; q0 < run.count; q0 += 16) {
      const auto lanes = static_cast<__mmask16>((1u << std::min<std::int64_t>(16, run.count - q0)) - 1);
      const float* rows_at = out_t + (run.origin - origin + q0) * ld;
      for (std::int64_t o0 = 0; o0 < channels; o0 += 16) {
        __m512 rows[16];
        for (std::int64_t t = 0; t < 16; ++t) rows[t] = _mm512_loadu_ps(rows_at + t * ld + o0);
        transpose_16x16(rows);
        for (std::int64_t o = 0; o < std::min<std::int64_t>(16, channels - o0); ++o) {
          float* at = out + (o0 + o) * stride + run.first + q0;
          const __m512 value = accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, at), rows[o]) : rows[o];
          _mm512_mask_storeu_ps(at, lanes, value);
        }
      }
    }
  }
}

}  // namespace ember::kernels::cpu
