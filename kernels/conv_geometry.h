#pragma once
// The geometry of a 2-D convolution over contiguous NCHW buffers, shared by the CPU and CUDA
// convolution kernels.
//
// The convolution reads image [batch, channels, height, width] through a kernel_h x kernel_w
// window and writes [batch, out_channels, out_h, out_w] (out_channels is passed beside it):
//   out[n, o, oh, ow] = sum over (c, kh, kw) of
//       weight[o, c, kh, kw] * image[n, c, oh * stride_h - pad_h + kh * dilation_h,
//                                         ow * stride_w - pad_w + kw * dilation_w]
// (zero where the window hangs over the padding; with groups, c runs over o's group only).
#include <cstdint>

namespace ember::kernels {

struct ConvGeometry {
  std::int64_t batch, channels, height, width;  // the image
  std::int64_t kernel_h, kernel_w;
  std::int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  std::int64_t out_h, out_w;
};

}  // namespace ember::kernels
