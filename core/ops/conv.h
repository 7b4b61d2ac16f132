#pragma once
// 2-D convolution (cross-correlation, as in every deep-learning framework).
#include <array>

#include "core/tensor.h"

namespace ember {

struct Conv2dParams {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};

// input [N, C, H, W], weight [OC, C / groups, KH, KW], bias [OC] or undefined -> [N, OC, OH, OW]
// with OH = (H + 2 padding - dilation (KH - 1) - 1) / stride + 1 (likewise OW). Computed as
// im2col + one GEMM per group; the backward is two GEMMs and a col2im.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& params = {});

}  // namespace ember
