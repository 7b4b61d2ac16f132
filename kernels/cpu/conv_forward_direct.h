#pragma once
// The forward convolution of the CPU (kernels/cpu/conv.cpp) computed straight from a chunk's
// window (conv_window.h), in f32 on AVX-512, for strides of 1, transposed: for narrow images,
// whose padding columns are a large part of each window row. Output position (oh, ow) of the
// chunk has window coordinate v = (oh - first row) * Wp + ow, its input under tap r at
// window[taps[r] + v]. The outputs of a tile of P positions by OV vectors of 16 output channels,
// out^T[q][o] = sum over r of window[taps[r] + v_q] * W^T[r][o], stay in registers over the whole
// depth, each input broadcast from the window at its position's own coordinate and each row of
// W^T loaded once per tile: a tile's positions need not be neighbours in the window, so no tile
// computes a padding column (the row tiles of conv_forward_rows.h, which read vectors of
// neighbouring coordinates, do), at the price of transposing out^T into the output.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <span>

#include "kernels/cpu/conv_filter_direct.h"  // PositionRun, clear_tile, for_each_vector_block
#include "kernels/cpu/transpose.h"

namespace ember::kernels::cpu {

// out_t[i * ld + 16 k + lane] = the tile's output at its i-th position, output channel 16 k +
// lane: the position's input under tap r at window[taps[r] + at[i]], at = the tile's window
// coordinates, w_t the tile's block of W^T (rows of OV vectors). The coordinates sit in general
// registers, so that each broadcast reads its input at its own address for one integer add.
template <int OV, int P>
__attribute__((target("avx512f"))) void forward_tile(const float* window, const std::int64_t* coordinates,
                                                     const std::int64_t* taps, std::int64_t depth,
                                                     const float* w_t, std::int64_t ld, float* out_t) {
  std::int64_t at[P];
  for (int i = 0; i < P; ++i) at[i] = coordinates[i];
  __m512 acc[P][OV];
  clear_tile(acc);
  for (std::int64_t r = 0; r < depth; ++r) {
    const float* x = window + taps[r];
    __m512 weights[OV];
    for (int k = 0; k < OV; ++k) weights[k] = _mm512_loadu_ps(w_t + (r * OV + k) * 16);
    for (int i = 0; i < P; ++i) {
      const __m512 input = _mm512_set1_ps(x[at[i]]);
      for (int k = 0; k < OV; ++k) acc[i][k] = _mm512_fmadd_ps(input, weights[k], acc[i][k]);
    }
  }
  // Unrolled, so that the accumulators stay in registers (constant indices only).
#pragma GCC unroll 8
  for (int i = 0; i < P; ++i) {
#pragma GCC unroll 4
    for (int k = 0; k < OV; ++k) _mm512_storeu_ps(out_t + i * ld + 16 * k, acc[i][k]);
  }
}

// Positions per tile for OV vectors of output channels: 24 accumulators for 4 vectors, and at
// most 8 positions, whose coordinates must fit in the general registers beside the loop's own.
constexpr int forward_tile_positions(int ov) { return ov == 4 ? 6 : 8; }

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

// What the out^T tiles of one chunk and group read: the window, each position's window
// coordinate, the taps' offsets and W^T blocked (pack_blocked_weights), of row length ld.
struct TransposedTileInputs {
  const float* window;
  std::span<const std::int64_t> coordinates;
  const std::int64_t* taps;
  std::int64_t depth;
  const float* w_t;
  std::int64_t ld;
};

// Tiles of P positions over positions [begin, end) for the block of OV vectors from vector k0,
// the rest in tiles of P / 2, P / 4, ..., 1 positions.
template <int OV, int P>
void forward_tiles_from(const TransposedTileInputs& in, std::int64_t k0, std::int64_t begin, std::int64_t end,
                        float* out_t) {
  for (; begin + P <= end; begin += P) {
    forward_tile<OV, P>(in.window, in.coordinates.data() + begin, in.taps, in.depth, in.w_t + k0 * 16 * in.depth,
                        in.ld, out_t + begin * in.ld + 16 * k0);
  }
  if constexpr (P > 1) forward_tiles_from<OV, P / 2>(in, k0, begin, end, out_t);
}

// out_t [positions, ld] = the outputs at every position of the chunk, in tiles of 4, 2 or 1
// vectors of output channels by positions: only real outputs are computed, the tiles running
// across output rows (CNN layer 2's rows of 11 outputs in 13 columns: 11 coordinates a row, not
// the 13 of a tile that steps through the window).
inline void forward_tiles(const TransposedTileInputs& in, float* out_t) {
  const auto positions = static_cast<std::int64_t>(in.coordinates.size());
  for_each_vector_block(in.ld / 16, [&]<int OV>(std::int64_t k0) {
    forward_tiles_from<OV, forward_tile_positions(OV)>(in, k0, 0, positions, out_t);
  });
}

// out[o * stride + q] (+)= out_t[q * ld + o] for positions q < positions and o < channels: out^T
// transposed back by 16 x 16 blocks in registers (out_t has 16 rows of room past its last).
__attribute__((target("avx512f"))) inline void store_transposed_output(const float* out_t, std::int64_t ld,
                                                                        std::int64_t positions,
                                                                        std::int64_t channels, std::int64_t stride,
                                                                        bool accumulate, float* out) {
  for (std::int64_t q0 = 0; q0 < positions; q0 += 16) {
    const auto lanes = static_cast<__mmask16>((1u << std::min<std::int64_t>(16, positions - q0)) - 1);
    for (std::int64_t o0 = 0; o0 < channels; o0 += 16) {
      __m512 rows[16];
      for (std::int64_t t = 0; t < 16; ++t) rows[t] = _mm512_loadu_ps(out_t + (q0 + t) * ld + o0);
      transpose_16x16(rows);
      for (std::int64_t o = 0; o < std::min<std::int64_t>(16, channels - o0); ++o) {
        float* at = out + (o0 + o) * stride + q0;
        const __m512 value = accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, at), rows[o]) : rows[o];
        _mm512_mask_storeu_ps(at, lanes, value);
      }
    }
  }
}

}  // namespace ember::kernels::cpu
