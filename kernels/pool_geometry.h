#pragma once
// The window geometry of 2-D pooling over contiguous [planes, H, W] buffers (planes = N * C),
// shared by the CPU and CUDA pooling kernels.
#include <cstdint>

#include "kernels/host_device.h"

namespace ember::kernels {

struct PoolGeometry {
  std::int64_t planes = 0, height = 0, width = 0;
  std::int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  std::int64_t dilation_h = 1, dilation_w = 1;  // max pooling only: window taps dilation apart
  std::int64_t out_h = 0, out_w = 0;
  // Average pooling's divisor, PyTorch's rules: divisor_override when positive; else the window's
  // size clipped to the padded image (count_include_pad) or to the image itself.
  bool count_include_pad = true;
  std::int64_t divisor_override = 0;
};

// The number average pooling divides window (oh, ow) by. A window always holds at least one
// element of the image: padding is at most half the kernel, and ceil_mode drops a last window
// that would start in the right or bottom padding. (Ternaries rather than std::min: device code.)
EMBER_HOST_DEVICE inline std::int64_t avg_pool_divisor(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  if (g.divisor_override > 0) return g.divisor_override;
  const std::int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  const std::int64_t padded_h_end = h0 + g.kernel_h < g.height + g.pad_h ? h0 + g.kernel_h : g.height + g.pad_h;
  const std::int64_t padded_w_end = w0 + g.kernel_w < g.width + g.pad_w ? w0 + g.kernel_w : g.width + g.pad_w;
  if (g.count_include_pad) return (padded_h_end - h0) * (padded_w_end - w0);
  const std::int64_t rows = (padded_h_end < g.height ? padded_h_end : g.height) - (h0 > 0 ? h0 : 0);
  const std::int64_t cols = (padded_w_end < g.width ? padded_w_end : g.width) - (w0 > 0 ? w0 : 0);
  return rows * cols;
}

}  // namespace ember::kernels
