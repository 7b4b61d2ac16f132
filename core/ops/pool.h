#pragma once
// 2-D pooling over [N, C, H, W] tensors.
#include <array>

#include "core/tensor.h"

namespace ember {

struct Pool2dParams {
  std::array<std::int64_t, 2> kernel{2, 2};
  std::array<std::int64_t, 2> stride{0, 0};  // 0: same as the kernel, PyTorch's default
  std::array<std::int64_t, 2> padding{0, 0};
};

// Max over each window; the gradient goes to the position that held the max.
Tensor max_pool2d(const Tensor& input, const Pool2dParams& params);
// Mean over each window, padding counted as zeros (count_include_pad=True).
Tensor avg_pool2d(const Tensor& input, const Pool2dParams& params);

}  // namespace ember
