#pragma once
// 2-D convolution (cross-correlation, as in every deep-learning framework) and its transpose.
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
// with OH = (H + 2 padding - dilation (KH - 1) - 1) / stride + 1 (likewise OW). The kernels are
// kernels/{cpu,cuda}/conv.h; backward keeps the input and the weight (version-checked), nothing else.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& params = {});

struct ConvTranspose2dParams {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> output_padding{0, 0};  // extra rows/columns on the bottom/right
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};

// The adjoint of conv2d with respect to its input ("deconvolution"): input [N, C, H, W],
// weight [C, OC / groups, KH, KW] (PyTorch's layout), bias [OC] or undefined -> [N, OC, OH, OW]
// with OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1.
// Forward is conv2d's input-gradient kernel; its backward is conv2d's forward.
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
                        const ConvTranspose2dParams& params = {});

}  // namespace ember
