#pragma once
// What every path of the CPU convolution (kernels/cpu/conv.cpp) shares: the convolution seen as
// GEMMs, the chunks of output positions it works on one at a time, the parallel loops over them,
// each thread's kept scratch buffers, and a row conversion between element types.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/conv_geometry.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

// Output positions [begin, end) of one image.
struct Chunk {
  std::int64_t image, begin, end;
  std::int64_t size() const { return end - begin; }
};

// to[j] = from[j] converted, for j < n; bf16 as its bits (loop_t), so that the loop vectorizes.
template <class T, class C>
void convert_row(const T* from, std::int64_t n, C* to) {
  if constexpr (std::is_same_v<T, bfloat16> && std::is_same_v<C, float>) {
    const auto* bits = reinterpret_cast<const loop_t<T>*>(from);
    for (std::int64_t j = 0; j < n; ++j) to[j] = widen<T>(bits[j]);
  } else if constexpr (std::is_same_v<T, float> && std::is_same_v<C, bfloat16>) {
    auto* bits = reinterpret_cast<loop_t<C>*>(to);
    for (std::int64_t j = 0; j < n; ++j) bits[j] = narrow<C>(from[j]);
  } else {
    for (std::int64_t j = 0; j < n; ++j) to[j] = static_cast<C>(from[j]);
  }
}

// to[j] = from[j] (f32 sums), or with `accumulate` to[j] + from[j], rounded once to C.
template <class C>
void store_row(const float* from, std::int64_t n, bool accumulate, C* to) {
  if (!accumulate) return convert_row(from, n, to);
  if constexpr (std::is_same_v<C, bfloat16>) {
    auto* bits = reinterpret_cast<loop_t<C>*>(to);
    for (std::int64_t j = 0; j < n; ++j) bits[j] = narrow<C>(widen<C>(bits[j]) + from[j]);
  } else {
    for (std::int64_t j = 0; j < n; ++j) to[j] = static_cast<C>(static_cast<float>(to[j]) + from[j]);
  }
}

// The sums of one image's result (`n` elements, in the compute type C) start at zero, or with
// `accumulate` at what the result holds; for T == C they are the result itself.
template <class T, class C>
void start_sums(const T* result, std::int64_t n, bool accumulate, C* sums) {
  if (!accumulate) return std::fill(sums, sums + n, C(0));
  if constexpr (!std::is_same_v<T, C>) convert_row(result, n, sums);
}

// The column matrix one thread builds at a time stays about this small (it is reread by the
// GEMM once per block of output channels, so it should sit in the last-level cache).
inline constexpr std::int64_t kColumnBufferBytes = std::int64_t{1} << 20;

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The widest panel of B the packed GEMM uses (kernels/cpu/gemm.cpp: AVX-512 and bf16 kernels).
inline constexpr std::int64_t kPanelColumns = 32;

// The convolution as GEMMs: per image and group, out_g [OCg, P] = W_g [OCg, depth] @ cols_g
// [depth, P] with depth = C/groups * KH * KW and P output positions. With `accumulate` the
// forward products add onto their output (which holds the bias) instead of overwriting it.
struct ConvShape {
  const ConvGeometry& g;
  std::int64_t out_channels, groups;
  bool accumulate = false;

  std::int64_t window() const { return g.kernel_h * g.kernel_w; }
  std::int64_t group_outputs() const { return out_channels / groups; }
  std::int64_t depth() const { return g.channels / groups * window(); }
  std::int64_t rows() const { return g.channels * window(); }  // column-matrix rows, every group
  std::int64_t positions() const { return g.out_h * g.out_w; }
  std::int64_t image_size() const { return g.channels * g.height * g.width; }
  // A 1x1 window with stride 1 and no padding reads the image as it is: it is its own column matrix.
  bool pointwise() const {
    return g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
  }
};

// Each image cut into chunks whose column matrix fits kColumnBufferBytes, and into at least as
// many chunks overall as there are threads when the positions allow it.
inline std::vector<Chunk> make_chunks(const ConvShape& s, std::size_t element_bytes) {
  const std::int64_t positions = s.positions();
  const std::int64_t fits =
      kColumnBufferBytes / (std::max<std::int64_t>(s.rows(), 1) * static_cast<std::int64_t>(element_bytes));
  const std::int64_t pieces = ceil_div(omp_get_max_threads(), std::max<std::int64_t>(s.g.batch, 1));
  std::int64_t per_chunk =
      std::max<std::int64_t>(1, std::min({std::max<std::int64_t>(fits, 64), ceil_div(positions, pieces), positions}));
  // A whole number of the GEMM's 32-column panels, so that only an image's last chunk has a
  // partial one (whose tiles take the slower edge path).
  if (per_chunk < positions && per_chunk > kPanelColumns) per_chunk = per_chunk / kPanelColumns * kPanelColumns;
  std::vector<Chunk> chunks;
  for (std::int64_t n = 0; n < s.g.batch; ++n) {
    for (std::int64_t begin = 0; begin < positions; begin += per_chunk) {
      chunks.push_back({n, begin, std::min(positions, begin + per_chunk)});
    }
  }
  return chunks;
}

// Calls body(range, first, last) for `ranges` contiguous slices of [0, count), in parallel. One
// range runs on the calling thread, outside any parallel region, so Eigen may use every thread
// inside a single large GEMM.
template <class Body>
void for_each_range(std::int64_t count, std::int64_t ranges, const Body& body) {
  if (ranges <= 1) {
    body(std::int64_t{0}, std::int64_t{0}, count);
    return;
  }
#pragma omp parallel for num_threads(static_cast<int>(ranges)) schedule(static, 1)
  for (std::int64_t r = 0; r < ranges; ++r) body(r, r * count / ranges, (r + 1) * count / ranges);
}

inline std::int64_t ranges_for(std::int64_t count) { return std::min<std::int64_t>(omp_get_max_threads(), count); }

// Calls body(i) for each i in [0, count) in parallel, handing the next i to whichever thread is
// free: for independent items (the forward's chunks), so that a thread the machine slows down
// does not leave the other waiting at the end.
template <class Body>
void for_each_item(std::int64_t count, const Body& body) {
#pragma omp parallel for num_threads(static_cast<int>(std::max<std::int64_t>(1, ranges_for(count)))) schedule(dynamic, 1)
  for (std::int64_t i = 0; i < count; ++i) body(i);
}

// Uninitialized memory, grown on demand.
template <class T>
class Scratch {
 public:
  T* get(std::int64_t n) {
    if (n > size_) {
      data_ = std::make_unique_for_overwrite<T[]>(static_cast<std::size_t>(n));
      size_ = n;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<T[]> data_;
  std::int64_t size_ = 0;
};

// The calling thread's scratch buffer `slot`, kept for its next convolution: a fresh buffer of
// this size would cost a page fault and a kernel-side clear per 4 KiB on every call.
enum class Slot { columns, gradient, window, transposed, image, taps };

template <class C>
C* thread_scratch(Slot slot, std::int64_t n) {
  thread_local Scratch<C> buffers[6];
  return buffers[static_cast<int>(slot)].get(n);
}

template <class C>
struct gradient_scratch {
  C* operator()(std::int64_t n) const { return thread_scratch<C>(Slot::gradient, n); }
};

}  // namespace ember::kernels::cpu
