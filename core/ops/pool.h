#pragma once
// 2-D pooling over [N, C, H, W] tensors, with PyTorch's options and output sizes.
#include <array>
#include <utility>

#include "core/tensor.h"

namespace ember {

struct Pool2dParams {
  std::array<std::int64_t, 2> kernel{2, 2};
  std::array<std::int64_t, 2> stride{0, 0};  // 0: same as the kernel, PyTorch's default
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};  // max pooling only
  // Rounds the output size up, so a partial window at the bottom and right edges still pools;
  // a window that would start in the padding is dropped.
  bool ceil_mode = false;
  // Average pooling only: whether padding counts in a window's size, and a fixed divisor (0: none).
  bool count_include_pad = true;
  std::int64_t divisor_override = 0;
};

// Max over each window; the gradient goes to the position that held the max (the first one in
// window order on ties; a NaN wins).
Tensor max_pool2d(const Tensor& input, const Pool2dParams& params);
// max_pool2d and the flat index h * W + w of each maximum within its [H, W] plane (i64): PyTorch's
// return_indices=True, the input of max_unpool2d.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const Pool2dParams& params);
// Mean over each window; the divisor follows count_include_pad and divisor_override.
Tensor avg_pool2d(const Tensor& input, const Pool2dParams& params);

// The partial inverse of max_pool2d: zeros of [N, C, output_size], with input[n, c, i] written at
// flat position indices[n, c, i] of its plane. output_size {0, 0} takes the size max_pool2d
// (with `params`' kernel, stride and padding) inverts: (in - 1) * stride - 2 * padding + kernel.
Tensor max_unpool2d(const Tensor& input, const Tensor& indices, const Pool2dParams& params,
                    std::array<std::int64_t, 2> output_size = {0, 0});

}  // namespace ember
