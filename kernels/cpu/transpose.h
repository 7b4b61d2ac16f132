#pragma once
// A 16 x 16 block of floats transposed in AVX-512 registers, for the packing code of the GEMM and
// the convolution (kernels/cpu/gemm.cpp, conv.cpp), which turn rows of a matrix into the columns
// of the micro-kernel's panels.
#include <immintrin.h>

namespace ember::kernels::cpu {

// rows[i][j] becomes rows[j][i]. Pairs of rows interleave (unpack), then pairs of pairs (shuffle),
// which leaves each 4 x 4 block of the matrix transposed inside one 128-bit lane; two lane
// shuffles then move the blocks into place.
__attribute__((target("avx512f"))) inline void transpose_16x16(__m512 rows[16]) {
  __m512 pairs[16], quads[16];
  for (int k = 0; k < 16; k += 2) {
    pairs[k] = _mm512_unpacklo_ps(rows[k], rows[k + 1]);
    pairs[k + 1] = _mm512_unpackhi_ps(rows[k], rows[k + 1]);
  }
  // quads[4g + c], lane L: rows 4g..4g+3 of column 4L + c.
  for (int g = 0; g < 16; g += 4) {
    quads[g] = _mm512_shuffle_ps(pairs[g], pairs[g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    quads[g + 1] = _mm512_shuffle_ps(pairs[g], pairs[g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    quads[g + 2] = _mm512_shuffle_ps(pairs[g + 1], pairs[g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    quads[g + 3] = _mm512_shuffle_ps(pairs[g + 1], pairs[g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int c = 0; c < 4; ++c) {  // column 4L + c gathers lane L of quads[c], [4 + c], [8 + c], [12 + c]
    const __m512 low01 = _mm512_shuffle_f32x4(quads[c], quads[4 + c], 0x44);   // lanes 0, 1 of each
    const __m512 high01 = _mm512_shuffle_f32x4(quads[c], quads[4 + c], 0xEE);  // lanes 2, 3 of each
    const __m512 low23 = _mm512_shuffle_f32x4(quads[8 + c], quads[12 + c], 0x44);
    const __m512 high23 = _mm512_shuffle_f32x4(quads[8 + c], quads[12 + c], 0xEE);
    rows[c] = _mm512_shuffle_f32x4(low01, low23, 0x88);
    rows[4 + c] = _mm512_shuffle_f32x4(low01, low23, 0xDD);
    rows[8 + c] = _mm512_shuffle_f32x4(high01, high23, 0x88);
    rows[12 + c] = _mm512_shuffle_f32x4(high01, high23, 0xDD);
  }
}

}  // namespace ember::kernels::cpu
