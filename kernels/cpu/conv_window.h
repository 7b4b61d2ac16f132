#pragma once
// The window gather of the CPU convolution (kernels/cpu/conv.cpp): a chunk of output positions,
// its input rows copied with their padding into a small window, and the column-matrix panels of
// the packed GEMM (kernels/cpu/packed_gemm.h) gathered from that window by vector permutes,
// in f32 and in bf16 pairs.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/conv_geometry.h"
#include "kernels/cpu/conv_chunks.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

// A chunk's input rows copied with their padding into a small window (rows of Wp = W + 2 *
// pad_w): the input of output position (oh, ow) under tap (kh, kw) is then at ((oh - first output
// row) * stride_h + kh * dh) * Wp + ow * stride_w + kw * dw, the same pattern for every tap.
class ChunkWindow {
 public:
  ChunkWindow(const ConvGeometry& g, const Chunk& chunk) : g_(g) {
    padded_w_ = g.width + 2 * g.pad_w;
    first_row_ = chunk.begin / g.out_w;
    rows_ = ((chunk.end - 1) / g.out_w - first_row_) * g.stride_h + 1 + (g.kernel_h - 1) * g.dilation_h;
  }

  // Elements of the padded copy of `channels` planes and kSlack zeros past them, which the last
  // vectors of a gather and the last tile of a direct forward read.
  static constexpr std::int64_t kSlack = 64;
  std::int64_t window_elements(std::int64_t channels) const { return channels * rows_ * padded_w_ + kSlack; }
  // Where tap (kh, kw) of channel c reads, from the window's start, for position 0 of the pattern.
  std::int64_t tap_offset(std::int64_t c, std::int64_t kh, std::int64_t kw) const {
    return c * rows_ * padded_w_ + kh * g_.dilation_h * padded_w_ + kw * g_.dilation_w;
  }
  // taps[r] = tap_offset of column-matrix row r = (c, kh, kw), for `channels` channels.
  void tap_offsets(std::int64_t channels, std::int64_t* taps) const {
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t kh = 0; kh < g_.kernel_h; ++kh) {
        for (std::int64_t kw = 0; kw < g_.kernel_w; ++kw) *taps++ = tap_offset(c, kh, kw);
      }
    }
  }
  // Where the input of output position (row, column) under tap (0, 0) lies in the window.
  std::int64_t offset(std::int64_t row, std::int64_t column) const {
    return (row - first_row_) * g_.stride_h * padded_w_ + column * g_.stride_w;
  }

  // Copies channels [first_channel, first_channel + channels) of the chunk's input rows, padded,
  // into `window`: f32 from f32 or bf16 (widened, exactly), or bf16 as its bits (E = uint16_t).
  template <class T, class E>
  void copy_window(const T* image, std::int64_t first_channel, std::int64_t channels, E* window) const {
    const std::int64_t top = first_row_ * g_.stride_h - g_.pad_h;  // the input row of the window's row 0
    for (std::int64_t c = 0; c < channels; ++c) {
      const T* plane = image + (first_channel + c) * g_.height * g_.width;
      for (std::int64_t y = 0; y < rows_; ++y, window += padded_w_) {
        const std::int64_t ih = top + y;
        if (ih < 0 || ih >= g_.height) {
          std::fill(window, window + padded_w_, E(0));
          continue;
        }
        std::fill(window, window + g_.pad_w, E(0));
        const T* row = plane + ih * g_.width;
        if constexpr (sizeof(T) == sizeof(E)) {
          std::memcpy(window + g_.pad_w, row, static_cast<std::size_t>(g_.width) * sizeof(E));
        } else {
          convert_row(row, g_.width, window + g_.pad_w);
        }
        std::fill(window + g_.pad_w + g_.width, window + padded_w_, E(0));
      }
    }
    std::fill(window, window + kSlack, E(0));
  }

 protected:
  const ConvGeometry& g_;
  std::int64_t padded_w_ = 0, first_row_ = 0, rows_ = 0;  // first_row_: the chunk's first output row
};

// The panels' gather on AVX-512 for a horizontal stride of 1 and panels of 32 columns, from the
// chunk's window: every 16 positions of a panel read 16 values from one stretch of 32 elements
// of the window, the same pattern for every tap, so each half panel of each column-matrix row is
// two loads, one permute and one store. fits() is false where 16 positions can span more than
// 32 elements of the window: a kernel whose taps span more than 17 columns.
class WindowGather : public ChunkWindow {
 public:
  WindowGather(const ConvGeometry& g, const Chunk& chunk) : ChunkWindow(g, chunk) {
    const std::int64_t halves = (chunk.size() + 15) / 16;
    starts_.resize(static_cast<std::size_t>(halves));
    indices_.resize(static_cast<std::size_t>(halves * 16));
    masks_.resize(static_cast<std::size_t>(halves));
    contiguous_.resize(static_cast<std::size_t>(halves));
    fits_ = true;
    // The positions' output row and column, stepped along (no division per position).
    std::int64_t row = chunk.begin / g.out_w, column = chunk.begin % g.out_w;
    for (std::int64_t h = 0; h < halves; ++h) {
      const std::int64_t start = offset(row, column);
      starts_[static_cast<std::size_t>(h)] = start;
      std::uint32_t mask = 0;
      for (std::int64_t t = 0; t < 16 && 16 * h + t < chunk.size(); ++t) {
        const std::int64_t index = offset(row, column) - start;
        fits_ = fits_ && index < 32;
        indices_[static_cast<std::size_t>(16 * h + t)] = static_cast<std::int32_t>(index);
        mask |= 1u << t;
        if (++column == g.out_w) {
          column = 0;
          ++row;
        }
      }
      masks_[static_cast<std::size_t>(h)] = static_cast<std::uint16_t>(mask);
      // 16 positions in one output row read 16 consecutive floats.
      contiguous_[static_cast<std::size_t>(h)] =
          mask == 0xFFFF && indices_[static_cast<std::size_t>(16 * h + 15)] == 15;
    }
  }

  bool fits() const { return fits_; }

  // Whether panel j's 32 positions are consecutive in one output row (most panels of a wide
  // image). Under every tap they then read 32 consecutive elements of the window: the panel is
  // the window itself, column-matrix row r at panel_origin(j) + tap_offsets' r, multiplied in
  // place with nothing gathered.
  bool panel_in_place(std::int64_t j) const {
    const auto first = static_cast<std::size_t>(2 * j), second = first + 1;
    return second < starts_.size() && contiguous_[first] && contiguous_[second] &&
           starts_[second] == starts_[first] + 16;
  }
  std::int64_t panel_origin(std::int64_t j) const { return starts_[static_cast<std::size_t>(2 * j)]; }

  // Panel j (the chunk's positions 32 j .. 32 j + 31) of the copied channels' column matrix into
  // `panel` (packed_gemm.h: (r, q) at r * 32 + q; lanes past the chunk zero), for a panel not in
  // place. Its two halves' patterns stay in registers for every row.
  __attribute__((target("avx512f"))) void gather_panel(const float* window, std::int64_t channels, std::int64_t j,
                                                       float* panel) const {
    const std::int64_t plane = rows_ * padded_w_, halves = static_cast<std::int64_t>(starts_.size());
    // tap_offset's terms held in locals: the panel's stores could alias the geometry, which the
    // compiler would otherwise read again for every row.
    const std::int64_t kernel_h = g_.kernel_h, kernel_w = g_.kernel_w;
    const std::int64_t row_step = g_.dilation_h * padded_w_, column_step = g_.dilation_w;
    const auto first = static_cast<std::size_t>(2 * j), second = 2 * j + 1 < halves ? first + 1 : first;
    const float* at0 = window + starts_[first];
    const float* at1 = window + starts_[second];
    const __m512i index0 = _mm512_loadu_si512(indices_.data() + 16 * first);
    const __m512i index1 = _mm512_loadu_si512(indices_.data() + 16 * second);
    const auto mask0 = static_cast<__mmask16>(masks_[first]);
    const auto mask1 = static_cast<__mmask16>(second != first ? masks_[second] : 0);  // no second half: zeros
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t kh = 0; kh < kernel_h; ++kh) {
        for (std::int64_t kw = 0; kw < kernel_w; ++kw, panel += 32) {
          const std::int64_t tap = c * plane + kh * row_step + kw * column_step;
          _mm512_storeu_ps(panel, _mm512_maskz_permutex2var_ps(mask0, _mm512_loadu_ps(at0 + tap), index0,
                                                               _mm512_loadu_ps(at0 + tap + 16)));
          _mm512_storeu_ps(panel + 16, _mm512_maskz_permutex2var_ps(mask1, _mm512_loadu_ps(at1 + tap), index1,
                                                                    _mm512_loadu_ps(at1 + tap + 16)));
        }
      }
    }
  }

  // The same for bf16 on the dot-product kernel: panel j of depth pairs (packed_gemm.h: (r, q)
  // at r / 2 * 64 + 2 q + r % 2, in bf16 words) from a window of bf16 words, the taps at `taps`
  // (tap_offset of each column-matrix row). Each half panel of each pair row is one two-source
  // word permute: word 2 t from the first tap, word 2 t + 1 from the second, both at position t's
  // pattern index. (Every CPU with AVX512-BF16 has AVX512-BW's word permutes.)
  __attribute__((target("avx512f,avx512bw"))) void gather_pair_panel(const std::uint16_t* window,
                                                                     const std::int64_t* taps, std::int64_t depth,
                                                                     std::int64_t j, std::uint16_t* panel) const {
    const std::int64_t halves = static_cast<std::int64_t>(starts_.size());
    const auto first = static_cast<std::size_t>(2 * j), second = 2 * j + 1 < halves ? first + 1 : first;
    std::uint16_t pattern[2][32];
    __mmask32 lanes[2] = {0, 0};
    for (int half = 0; half < 2; ++half) {
      const std::size_t h = half == 0 ? first : second;
      for (int w = 0; w < 32; ++w) pattern[half][w] = static_cast<std::uint16_t>(indices_[16 * h + w / 2] | (w % 2) << 5);
      for (int t = 0; t < 16; ++t) {
        if (masks_[h] >> t & 1) lanes[half] |= __mmask32{3} << (2 * t);
      }
    }
    if (second == first) lanes[1] = 0;  // no second half: zeros
    const __m512i index0 = _mm512_loadu_si512(pattern[0]), index1 = _mm512_loadu_si512(pattern[1]);
    const std::uint16_t* at0 = window + starts_[first];
    const std::uint16_t* at1 = window + starts_[second];
    for (std::int64_t r = 0; r < depth; r += 2, panel += 64) {
      const bool pair = r + 1 < depth;  // an odd depth's last row pairs with zeros
      const std::int64_t tap = taps[r], next = pair ? taps[r + 1] : 0;
      const __m512i low0 = _mm512_loadu_si512(at0 + tap), low1 = _mm512_loadu_si512(at1 + tap);
      const __m512i high0 = pair ? _mm512_loadu_si512(at0 + next) : _mm512_setzero_si512();
      const __m512i high1 = pair ? _mm512_loadu_si512(at1 + next) : _mm512_setzero_si512();
      _mm512_storeu_si512(panel, _mm512_maskz_permutex2var_epi16(lanes[0], low0, index0, high0));
      _mm512_storeu_si512(panel + 32, _mm512_maskz_permutex2var_epi16(lanes[1], low1, index1, high1));
    }
  }

  // Rows of bf16 words for the weight gradient: rows[r * 32 + q] = column-matrix row r at the
  // chunk's position 32 j + q (zero past the chunk), both halves of the panel from one two-source
  // word permute per row.
  __attribute__((target("avx512f,avx512bw"))) void gather_word_rows(const std::uint16_t* window,
                                                                    const std::int64_t* taps, std::int64_t depth,
                                                                    std::int64_t j, std::uint16_t* rows) const {
    const std::int64_t halves = static_cast<std::int64_t>(starts_.size());
    const auto first = static_cast<std::size_t>(2 * j), second = 2 * j + 1 < halves ? first + 1 : first;
    std::uint16_t pattern[32];
    __mmask32 lanes = 0;
    for (int w = 0; w < 32; ++w) {
      const std::size_t h = w < 16 ? first : second;
      pattern[w] = static_cast<std::uint16_t>(indices_[16 * h + w % 16] | (w < 16 ? 0 : 32));
      if ((w < 16 || second != first) && (masks_[h] >> (w % 16) & 1)) lanes |= __mmask32{1} << w;
    }
    const __m512i index = _mm512_loadu_si512(pattern);
    const std::uint16_t* at0 = window + starts_[first];
    const std::uint16_t* at1 = window + starts_[second];
    for (std::int64_t r = 0; r < depth; ++r, rows += 32) {
      const __m512i low = _mm512_loadu_si512(at0 + taps[r]), high = _mm512_loadu_si512(at1 + taps[r]);
      _mm512_storeu_si512(rows, _mm512_maskz_permutex2var_epi16(lanes, low, index, high));
    }
  }

 private:
  bool fits_ = false;
  std::vector<std::int64_t> starts_;
  std::vector<std::int32_t> indices_;
  std::vector<std::uint16_t> masks_;
  std::vector<bool> contiguous_;
};

}  // namespace ember::kernels::cpu
