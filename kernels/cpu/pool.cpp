#include "kernels/pool.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

// Calls visit(out_index, ih, iw) for each output position of `plane` and each element of its
// window that lies inside the image (average pooling's windows: no dilation).
template <class Visit>
void for_each_window(const PoolGeometry& g, std::int64_t plane, Visit&& visit) {
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const std::int64_t at = (plane * g.out_h + oh) * g.out_w + ow;
      for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const std::int64_t ih = oh * g.stride_h - g.pad_h + kh;
        if (ih < 0 || ih >= g.height) continue;
        for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const std::int64_t iw = ow * g.stride_w - g.pad_w + kw;
          if (iw >= 0 && iw < g.width) visit(at, ih, iw);
        }
      }
    }
  }
}

// Runs body(plane) for every plane; planes are independent, so threads split them.
template <class Body>
void over_planes(const PoolGeometry& g, Body&& body) {
  parallel_for(g.planes, g.out_h * g.out_w * g.kernel_h * g.kernel_w, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane) body(plane);
  });
}

// The most common window, 2x2 with stride 2 and no padding (every max pooling of the CNN and
// the U-Net), over one plane: each output reads two adjacent pairs with no edge to handle, and
// the selects have no branch. The rule is the general search's: the first maximum in window
// order wins ties, and the first NaN wins (a NaN is never greater, so nothing replaces it).
template <class T>
void max_pool_2x2(const PoolGeometry& g, const T* image, T* y, std::int64_t* indices) {
  // Read as loop_t (bf16 as its bits, widened inline); the winner is copied, not converted.
  const loop_t<T>* bits = reinterpret_cast<const loop_t<T>*>(image);
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const std::int64_t top = 2 * oh * g.width, bottom = top + g.width;
    for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
      const std::int64_t window[4] = {top + 2 * ow, top + 2 * ow + 1, bottom + 2 * ow, bottom + 2 * ow + 1};
      compute_t<T> best = widen<T>(bits[window[0]]);
      std::int64_t best_at = window[0];
      for (int k = 1; k < 4; ++k) {
        const compute_t<T> value = widen<T>(bits[window[k]]);
        const bool take = value > best || (value != value && best == best);
        best = take ? value : best;
        best_at = take ? window[k] : best_at;
      }
      y[oh * g.out_w + ow] = image[best_at];
      indices[oh * g.out_w + ow] = best_at;
    }
  }
}

// GCC 12 warns that its own AVX-512 intrinsics read an undefined vector (their unused
// pass-through operand, GCC bug 105593, fixed in GCC 13): silenced for these two functions.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// The even and odd elements of the first 2 * count (count <= 16) of a row, as f32 (a function of
// the same target as its caller, so that it inlines; a lambda would not share the target).
template <class T>
__attribute__((target("avx512f"))) inline void load_pairs_avx512(const T* row, int count, __m512& even, __m512& odd) {
  if constexpr (std::is_same_v<T, float>) {
    const __m512i even_lanes = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd_lanes = _mm512_add_epi32(even_lanes, _mm512_set1_epi32(1));
    const auto low_mask = static_cast<__mmask16>(count >= 8 ? 0xFFFFu : (1u << 2 * count) - 1);
    const auto high_mask = static_cast<__mmask16>(count > 8 ? (1u << (2 * count - 16)) - 1 : 0u);
    const __m512 low = _mm512_maskz_loadu_ps(low_mask, row);
    const __m512 high = _mm512_maskz_loadu_ps(high_mask, row + 16);
    even = _mm512_permutex2var_ps(low, even_lanes, high);
    odd = _mm512_permutex2var_ps(low, odd_lanes, high);
  } else {
    const __m512i pairs = _mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << count) - 1), row);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(pairs, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
  }
}

// The same window and rule with AVX-512, 16 outputs of a row at a time (the last group of a
// row masked, so rows of any width take this path, the CNN's 13 and 5 outputs too). Each
// window's four values come as four vectors: the top row's even and odd elements, then the
// bottom row's; the winner of each lane is kept with its window position (0, 1, width,
// width + 1). f32 rows are split into even and odd elements by a permutation; a bf16 row read as
// 32-bit words holds an (even, odd) pair in each word, whose halves shifted into the high bits
// are the two values as f32, exactly.
template <class T>
__attribute__((target("avx512f"))) void max_pool_2x2_avx512(const PoolGeometry& g, const T* image, T* y,
                                                            std::int64_t* indices) {
  const __m512i lane_offsets = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);  // 2 * lane, as input positions
  const auto width = static_cast<int>(g.width);
  const __m512i window_offset[4] = {_mm512_setzero_si512(), _mm512_set1_epi32(1), _mm512_set1_epi32(width),
                                    _mm512_set1_epi32(width + 1)};
  for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
    const std::int64_t top = 2 * oh * g.width;
    for (std::int64_t ow = 0; ow < g.out_w; ow += 16) {
      const int count = static_cast<int>(std::min<std::int64_t>(16, g.out_w - ow));
      const auto outputs = static_cast<__mmask16>((1u << count) - 1);
      __m512 values[4];
      load_pairs_avx512(image + top + 2 * ow, count, values[0], values[1]);
      load_pairs_avx512(image + top + g.width + 2 * ow, count, values[2], values[3]);
      __m512 best = values[0];
      __m512i best_at = window_offset[0];
      for (int k = 1; k < 4; ++k) {
        // Greater, or a NaN where the best so far is a number: the scalar path's rule.
        const __mmask16 take = _mm512_cmp_ps_mask(values[k], best, _CMP_GT_OQ) |
                               (_mm512_cmp_ps_mask(values[k], values[k], _CMP_UNORD_Q) &
                                _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
        best = _mm512_mask_blend_ps(take, best, values[k]);
        best_at = _mm512_mask_blend_epi32(take, best_at, window_offset[k]);
      }
      if constexpr (std::is_same_v<T, float>) {
        _mm512_mask_storeu_ps(y + oh * g.out_w + ow, outputs, best);
      } else {  // the winner's own 16 bits
        _mm512_mask_cvtepi32_storeu_epi16(y + oh * g.out_w + ow, outputs,
                                          _mm512_srli_epi32(_mm512_castps_si512(best), 16));
      }
      const __m512i base = _mm512_add_epi64(_mm512_set1_epi64(top + 2 * ow), lane_offsets);
      const __m512i low = _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(best_at)));
      const __m512i high = _mm512_add_epi64(_mm512_add_epi64(base, _mm512_set1_epi64(16)),
                                            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(best_at, 1)));
      _mm512_mask_storeu_epi64(indices + oh * g.out_w + ow, static_cast<__mmask8>(outputs), low);
      _mm512_mask_storeu_epi64(indices + oh * g.out_w + ow + 8, static_cast<__mmask8>(outputs >> 8), high);
    }
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// (ceil_mode's partial last window is not this shape.)
bool is_2x2_stride_2(const PoolGeometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 && g.pad_w == 0 &&
         g.dilation_h == 1 && g.dilation_w == 1 && 2 * g.out_h <= g.height && 2 * g.out_w <= g.width;
}

// 1 / avg_pool_divisor of each output position of a plane (the same for every plane).
template <class C>
std::vector<C> reciprocal_divisors(const PoolGeometry& g) {
  std::vector<C> scales(static_cast<std::size_t>(g.out_h * g.out_w));
  for (std::int64_t oh = 0; oh < g.out_h; ++oh)
    for (std::int64_t ow = 0; ow < g.out_w; ++ow)
      scales[static_cast<std::size_t>(oh * g.out_w + ow)] = C(1) / static_cast<C>(avg_pool_divisor(g, oh, ow));
  return scales;
}

}  // namespace

void max_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out, std::int64_t* indices) {
  dispatch_floating(dtype, "max_pool2d", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    constexpr bool has_avx512_path = std::is_same_v<T, float> || std::is_same_v<T, bfloat16>;
    const bool avx512 = has_avx512_path && cpu_isa() >= Isa::avx512;  // (read before the threads start)
    over_planes(g, [&](std::int64_t plane) {
      const T* image = x + plane * g.height * g.width;
      if (is_2x2_stride_2(g)) {
        const std::int64_t first = plane * g.out_h * g.out_w;
        if constexpr (has_avx512_path) {
          if (avx512) return max_pool_2x2_avx512(g, image, y + first, indices + first);
        }
        return max_pool_2x2(g, image, y + first, indices + first);
      }
      for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
        const std::int64_t h0 = oh * g.stride_h - g.pad_h;
        for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
          const std::int64_t w0 = ow * g.stride_w - g.pad_w;
          // Padding never wins. The first maximum wins ties; a NaN wins and ends the search.
          // The comparisons select rather than branch: which element is larger is a coin
          // toss the branch predictor would lose half the time.
          C best = -std::numeric_limits<C>::infinity();
          std::int64_t best_at = -1;
          auto search = [&] {
            for (std::int64_t ih = h0; ih < h0 + g.kernel_h * g.dilation_h; ih += g.dilation_h) {
              if (ih < 0 || ih >= g.height) continue;
              for (std::int64_t iw = w0; iw < w0 + g.kernel_w * g.dilation_w; iw += g.dilation_w) {
                if (iw < 0 || iw >= g.width) continue;
                const std::int64_t position = ih * g.width + iw;
                const C value = static_cast<C>(image[position]);
                if (std::isnan(value)) {
                  best = value;
                  best_at = position;
                  return;
                }
                const bool greater = value > best || best_at < 0;
                best = greater ? value : best;
                best_at = greater ? position : best_at;
              }
            }
          };
          search();
          const std::int64_t at = (plane * g.out_h + oh) * g.out_w + ow;
          y[at] = static_cast<T>(best);
          indices[at] = best_at;
        }
      }
    });
  });
}

void max_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, const std::int64_t* indices,
                         void* grad_in) {
  dispatch_floating(dtype, "max_pool2d_backward", [&]<class T>() {
    // bf16 as its bits (loop_t), widened and rounded by the inline bit operations of
    // kernels/dtype.h rather than through Eigen::bfloat16's conversions.
    const auto* dy = static_cast<const loop_t<T>*>(grad_out);
    auto* dx = static_cast<loop_t<T>*>(grad_in);
    // Windows that do not overlap (the CNN's 2 x 2, stride 2) send at most one gradient to each
    // input: it is stored onto the caller's zeros, exactly 0 + dy, without reading them.
    const bool disjoint = g.stride_h > g.dilation_h * (g.kernel_h - 1) && g.stride_w > g.dilation_w * (g.kernel_w - 1);
    over_planes(g, [&](std::int64_t plane) {
      loop_t<T>* image = dx + plane * g.height * g.width;
      const std::int64_t first = plane * g.out_h * g.out_w, last = first + g.out_h * g.out_w;
      if (disjoint) {
        for (std::int64_t i = first; i < last; ++i) image[indices[i]] = dy[i];
        return;
      }
      for (std::int64_t i = first; i < last; ++i) image[indices[i]] = narrow<T>(widen<T>(image[indices[i]]) + widen<T>(dy[i]));
    });
  });
}

void avg_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out) {
  dispatch_floating(dtype, "avg_pool2d", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    const std::vector<C> scales = reciprocal_divisors<C>(g);
    over_planes(g, [&](std::int64_t plane) {
      const std::int64_t first = plane * g.out_h * g.out_w;
      std::vector<C> totals(static_cast<std::size_t>(g.out_h * g.out_w), C(0));
      const T* image = x + plane * g.height * g.width;
      for_each_window(g, plane, [&](std::int64_t at, std::int64_t ih, std::int64_t iw) {
        totals[static_cast<std::size_t>(at - first)] += static_cast<C>(image[ih * g.width + iw]);
      });
      for (std::size_t i = 0; i < totals.size(); ++i) {
        y[first + static_cast<std::int64_t>(i)] = static_cast<T>(totals[i] * scales[i]);
      }
    });
  });
}

void avg_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, void* grad_in) {
  dispatch_floating(dtype, "avg_pool2d_backward", [&]<class T>() {
    using C = compute_t<T>;
    const T* dy = static_cast<const T*>(grad_out);
    T* dx = static_cast<T*>(grad_in);
    const std::vector<C> scales = reciprocal_divisors<C>(g);
    over_planes(g, [&](std::int64_t plane) {
      T* image = dx + plane * g.height * g.width;
      const std::int64_t first = plane * g.out_h * g.out_w;
      for_each_window(g, plane, [&](std::int64_t at, std::int64_t ih, std::int64_t iw) {
        T& target = image[ih * g.width + iw];
        const C scale = scales[static_cast<std::size_t>(at - first)];
        target = static_cast<T>(static_cast<C>(target) + static_cast<C>(dy[at]) * scale);
      });
    });
  });
}

}  // namespace ember::kernels::cpu
