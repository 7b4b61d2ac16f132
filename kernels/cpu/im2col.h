#pragma once
// im2col / col2im: the data movement that turns a convolution into one matrix product.
//
// For input [N, C, H, W] and a KH x KW window, the column matrix has one row per (c, kh, kw)
// and one column per output position (n, oh, ow):
//   cols[(c, kh, kw), (n, oh, ow)] = input[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
// (zero where the window hangs over the padding). The convolution is then W[OC, C*KH*KW] @ cols.
#include <cstdint>

#include "core/dtype.h"

namespace ember::kernels::cpu {

struct ConvGeometry {
  std::int64_t batch, channels, height, width;  // input
  std::int64_t kernel_h, kernel_w;
  std::int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  std::int64_t out_h, out_w;
};

// input: contiguous [N, C, H, W]; cols: contiguous [C*KH*KW, N*OH*OW].
void im2col(DType dtype, const ConvGeometry& g, const void* input, void* cols);
// The adjoint: grad_input[n, c, ih, iw] += every cols entry im2col read from there.
// grad_input must be zeroed by the caller.
void col2im(DType dtype, const ConvGeometry& g, const void* cols, void* grad_input);

}  // namespace ember::kernels::cpu
