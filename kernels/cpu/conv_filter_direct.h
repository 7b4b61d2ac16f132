#pragma once
// The weight gradient of the CPU convolution (kernels/cpu/conv.cpp) computed straight from a
// chunk's window (conv_window.h) on AVX-512, for kernels two or three taps wide with no
// horizontal dilation (nearly all of them): in f32, and in bf16 on the dot-product instructions.
// As a GEMM, dW_g = dy_g @ cols_g^T sums along the column matrix's rows, which the micro-kernel
// wants transposed: that transpose costs a quarter of the product. Here no column matrix is
// made. dy is transposed instead (dy^T [positions, output channels], depth times smaller), and
// each position's row of dy^T is multiplied by the input value under each tap, broadcast, into
// the rows of dW^T [depth, output channels]: a tile of them (S channel rows (c, kh) of the
// window times KW taps, by OV vectors of 16 output channels) stays in registers over a block of
// positions, the sum running down the tile and never across a vector's lanes.
//
// In bf16 a row of dy^T holds a pair of neighbouring positions (each 32-bit word: one output
// channel's two gradients), and the broadcast word of the bf16 window at a position holds the
// inputs of that position and the next under the same tap: one dot-product instruction adds
// both products. A run of odd length ends with half a pair, whose missing position is zero on
// both sides.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "kernels/cpu/transpose.h"

namespace ember::kernels::cpu {

// Positions [first, first + count) of a chunk along one output row, whose input under tap (0, 0)
// starts at `origin` in the window and steps by the horizontal stride; their gradients are the
// rows of dy^T from `row` on (one per position in f32, one per pair of positions in bf16).
struct PositionRun {
  std::int64_t first, count, origin, row;
};

// Positions summed in registers before the sums take them: blocks of this many keep the f32
// rounding error near a blocked sum's, as in the GEMM's depth slices (kernels/cpu/gemm.cpp).
inline constexpr std::int64_t kFilterBlockPositions = 256;

// dy_t[q * ld + o] = dy[o * stride + q] for o < channels, q < width; zero for o in [channels, ld)
// (ld a multiple of 16), by 16 x 16 blocks transposed in registers.
__attribute__((target("avx512f"))) inline void transpose_gradient(const float* dy, std::int64_t stride,
                                                                   std::int64_t channels, std::int64_t width,
                                                                   std::int64_t ld, float* dy_t) {
  for (std::int64_t q0 = 0; q0 < width; q0 += 16) {
    const std::int64_t n = std::min<std::int64_t>(16, width - q0);
    const auto lanes = static_cast<__mmask16>((1u << n) - 1);
    for (std::int64_t o0 = 0; o0 < ld; o0 += 16) {
      __m512 rows[16];
      for (std::int64_t t = 0; t < 16; ++t) {
        rows[t] = o0 + t < channels ? _mm512_maskz_loadu_ps(lanes, dy + (o0 + t) * stride + q0) : _mm512_setzero_ps();
      }
      transpose_16x16(rows);
      for (std::int64_t i = 0; i < n; ++i) _mm512_storeu_ps(dy_t + (q0 + i) * ld + o0, rows[i]);
    }
  }
}

// The same for bf16 gradients (as their bits) in position pairs: for each run, dy_t[(row + m) *
// ld + o] = the word of dy[o][first + 2 m] (low half) and dy[o][first + 2 m + 1] (high half,
// zero past the run). Rows of 32 bf16 words are 16 words of 32 bits, transposed as floats.
__attribute__((target("avx512f,avx512bw"))) inline void transpose_gradient_pairs(
    const std::uint16_t* dy, std::int64_t stride, std::int64_t channels, std::span<const PositionRun> runs,
    std::int64_t ld, std::uint32_t* dy_t) {
  for (const PositionRun& run : runs) {
    for (std::int64_t q0 = 0; q0 < run.count; q0 += 32) {
      const std::int64_t words = std::min<std::int64_t>(32, run.count - q0), pairs = (words + 1) / 2;
      const auto lanes = static_cast<__mmask32>((std::uint64_t{1} << words) - 1);
      for (std::int64_t o0 = 0; o0 < ld; o0 += 16) {
        __m512 rows[16];
        for (std::int64_t t = 0; t < 16; ++t) {
          rows[t] = o0 + t < channels
                        ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(lanes, dy + (o0 + t) * stride + run.first + q0))
                        : _mm512_setzero_ps();
        }
        transpose_16x16(rows);
        std::uint32_t* out = dy_t + (run.row + q0 / 2) * ld + o0;
        for (std::int64_t i = 0; i < pairs; ++i) _mm512_storeu_si512(out + i * ld, _mm512_castps_si512(rows[i]));
      }
    }
  }
}

// Calls add(block) for consecutive blocks of `runs`, each as many runs as hold at most
// kFilterBlockPositions positions together.
template <class Add>
void for_each_block(std::span<const PositionRun> runs, const Add& add) {
  for (std::size_t b = 0; b < runs.size();) {
    std::size_t e = b;
    for (std::int64_t summed = 0; e < runs.size() && summed + runs[e].count <= kFilterBlockPositions; ++e) {
      summed += runs[e].count;
    }
    add(runs.subspan(b, e - b));
    b = e;
  }
}

// A tile's accumulators at zero.
template <int R, int OV>
__attribute__((target("avx512f"), always_inline)) inline void clear_tile(__m512 (&acc)[R][OV]) {
  for (auto& row : acc) {
    for (auto& v : row) v = _mm512_setzero_ps();
  }
}

// sums = acc: the stores after a tile, bounded by run-time counts, read this copy, so that every
// access to the accumulators themselves has constant indices and they stay in registers (GCC
// keeps an array it indexes by a run-time bound in memory, through the whole tile).
template <int R, int OV>
__attribute__((target("avx512f"), always_inline)) inline void copy_tile(const __m512 (&acc)[R][OV],
                                                                        __m512 (&sums)[R][OV]) {
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
#pragma GCC unroll 4
    for (int k = 0; k < OV; ++k) sums[i][k] = acc[i][k];
  }
}

// x[s] = streams[s] + origin: where a run's inputs start in each of the tile's streams.
template <int S, class E>
inline void point_streams(const E* const* streams, std::int64_t origin, const E* (&x)[S]) {
  for (int s = 0; s < S; ++s) x[s] = streams[s] + origin;
}

// sums[i * ld + 16 k + lane] += acc[i][k] lane, for the tile's rows i < rows.
template <int R, int OV>
__attribute__((target("avx512f"), always_inline)) inline void add_tile(const __m512 (&acc)[R][OV], std::int64_t rows,
                                                                       std::int64_t ld, float* sums) {
  for (int i = 0; i < R; ++i) {  // a constant bound, so that acc stays in registers
    if (i >= rows) break;
    for (int k = 0; k < OV; ++k) {
      float* at = sums + i * ld + 16 * k;
      _mm512_storeu_ps(at, _mm512_add_ps(_mm512_loadu_ps(at), acc[i][k]));
    }
  }
}

// sums[i * ld + 16 k + lane] += dW^T row i of a tile, output channel 16 k + lane, over the
// positions of one block of runs (for_each_block), in f32. The tile's stream s is a channel row
// (c, kh) of the window: the input of tap (c, kh, kw) of a run's first position is at streams[s]
// + origin + kw, and row i = s * KW + kw. Rows past `rows` (the last tile's streams repeated to
// fill it) are dropped.
template <int OV, int S, int KW>
__attribute__((target("avx512f"))) void add_filter_block(const float* const* streams, std::span<const PositionRun> block,
                                                         std::int64_t stride_w, const float* dy_t, std::int64_t ld,
                                                         std::int64_t rows, float* sums) {
  __m512 acc[S * KW][OV];
  clear_tile(acc);
  for (const PositionRun& run : block) {
    const float* x[S];
    point_streams(streams, run.origin, x);
    const float* d = dy_t + run.row * ld;
    for (std::int64_t j = 0; j < run.count * stride_w; j += stride_w, d += ld) {
      __m512 gradient[OV];
      for (int k = 0; k < OV; ++k) gradient[k] = _mm512_loadu_ps(d + 16 * k);
      for (int s = 0; s < S; ++s) {
        for (int kw = 0; kw < KW; ++kw) {
          const __m512 input = _mm512_set1_ps(x[s][j + kw]);
          for (int k = 0; k < OV; ++k) acc[s * KW + kw][k] = _mm512_fmadd_ps(input, gradient[k], acc[s * KW + kw][k]);
        }
      }
    }
  }
  add_tile(acc, rows, ld, sums);
}

// One pair of positions (j, j + 1) of a run into a bf16 tile: the window's words at x[s] + j + kw
// broadcast; `half` (a run's odd last position) reads only position j's input, the other zero.
template <bool half, int OV, int S, int KW>
__attribute__((target("avx512f,avx512bf16"), always_inline)) inline void add_position_pair(
    __m512 (&acc)[S * KW][OV], const std::uint16_t* const (&x)[S], std::int64_t j, const std::uint32_t* d) {
  __m512bh gradient[OV];
  for (int k = 0; k < OV; ++k) gradient[k] = (__m512bh)_mm512_loadu_si512(d + 16 * k);
  for (int s = 0; s < S; ++s) {
    for (int kw = 0; kw < KW; ++kw) {
      std::uint32_t word = x[s][j + kw];
      if constexpr (!half) std::memcpy(&word, x[s] + j + kw, sizeof(word));
      const __m512bh input = (__m512bh)_mm512_set1_epi32(static_cast<int>(word));
      for (int k = 0; k < OV; ++k) acc[s * KW + kw][k] = _mm512_dpbf16_ps(acc[s * KW + kw][k], input, gradient[k]);
    }
  }
}

// add_filter_block in bf16 (a horizontal stride of 1): the window's bf16 words, dy_t in position
// pairs (transpose_gradient_pairs), f32 sums.
template <int OV, int S, int KW>
__attribute__((target("avx512f,avx512bf16"))) void add_filter_block_pairs(const std::uint16_t* const* streams,
                                                                         std::span<const PositionRun> block,
                                                                         const std::uint32_t* dy_t, std::int64_t ld,
                                                                         std::int64_t rows, float* sums) {
  __m512 acc[S * KW][OV];
  clear_tile(acc);
  for (const PositionRun& run : block) {
    const std::uint16_t* x[S];
    point_streams(streams, run.origin, x);
    const std::uint32_t* d = dy_t + run.row * ld;
    const std::int64_t whole = run.count / 2 * 2;
    for (std::int64_t j = 0; j < whole; j += 2, d += ld) add_position_pair<false, OV, S, KW>(acc, x, j, d);
    if (whole < run.count) add_position_pair<true, OV, S, KW>(acc, x, whole, d);
  }
  add_tile(acc, rows, ld, sums);
}

// The vectors of output channels of the tiles that start at vector k0 of `vectors`: 4 while
// there are 4, then 2, then 1.
constexpr std::int64_t block_vectors(std::int64_t vectors, std::int64_t k0) {
  return vectors - k0 >= 4 ? 4 : vectors - k0 >= 2 ? 2 : 1;
}

// Calls pass.template operator()<OV>(k0) for the blocks [k0, k0 + OV) of `vectors` vectors of
// output channels (OV = block_vectors), in order.
template <class Pass>
void for_each_vector_block(std::int64_t vectors, const Pass& pass) {
  for (std::int64_t k0 = 0; k0 < vectors;) {
    const std::int64_t width = block_vectors(vectors, k0);
    if (width == 4) {
      pass.template operator()<4>(k0);
    } else if (width == 2) {
      pass.template operator()<2>(k0);
    } else {
      pass.template operator()<1>(k0);
    }
    k0 += width;
  }
}

// Streams per tile for OV vectors of output channels and KW taps: as many as keep the tile's
// accumulators within 24 of the 32 registers (the rest hold dy^T and the broadcast input), and
// at most 8, for the general-purpose registers that hold their pointers.
constexpr int tile_streams(int ov, int kw) { return std::min(8, 24 / (ov * kw)); }

// sums [channel rows * KW, ld] += dW^T of one chunk and group: `streams` (channel rows of the
// window, of float or bf16 words E, each row of dW^T their KW taps), `runs` and dy_t as above,
// ld / 16 vectors of output channels, in tiles of tile_streams streams by 4, 2 or 1 vectors.
template <int KW, class E, class D>
void add_filter_gradient_tiles(std::span<const E* const> streams, std::span<const PositionRun> runs,
                               std::int64_t stride_w, const D* dy_t, std::int64_t ld, float* sums) {
  const auto count = static_cast<std::int64_t>(streams.size());
  auto pass = [&]<int OV>(std::int64_t k0) {
    constexpr int S = tile_streams(OV, KW);
    for (std::int64_t s0 = 0; s0 < count; s0 += S) {
      const std::int64_t valid = std::min<std::int64_t>(S, count - s0);
      const E* tile[S];
      for (int s = 0; s < S; ++s) tile[s] = streams[static_cast<std::size_t>(s0 + std::min<std::int64_t>(s, valid - 1))];
      float* tile_sums = sums + s0 * KW * ld + 16 * k0;
      for_each_block(runs, [&](std::span<const PositionRun> block) {
        if constexpr (std::is_same_v<E, float>) {
          add_filter_block<OV, S, KW>(tile, block, stride_w, dy_t + 16 * k0, ld, valid * KW, tile_sums);
        } else {
          add_filter_block_pairs<OV, S, KW>(tile, block, dy_t + 16 * k0, ld, valid * KW, tile_sums);
        }
      });
    }
  };
  for_each_vector_block(ld / 16, pass);
}

}  // namespace ember::kernels::cpu
