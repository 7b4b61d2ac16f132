#pragma once
// 2-D convolution (cross-correlation, as in every deep-learning framework) and its transpose.
#include <array>

#include "core/ops/pad.h"
#include "core/tensor.h"

namespace ember {

// Where conv2d's padding comes from: the `padding` sizes, or PyTorch's padding="same" (as much as
// keeps H x W at stride 1: dilation (K - 1) in all, an odd extra row or column at the bottom or
// right) or padding="valid" (none).
enum class ConvPadding { sizes, same, valid };

struct Conv2dParams {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
  ConvPadding padding_rule = ConvPadding::sizes;
  // What fills the padding: zeros (PyTorch's padding_mode="zeros"), or the input reflected,
  // replicated or wrapped around (pad() with that mode, then an unpadded convolution).
  PadMode padding_mode = PadMode::constant;
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
