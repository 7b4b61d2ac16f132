#pragma once
// The window geometry of 2-D pooling over contiguous [planes, H, W] buffers (planes = N * C),
// shared by the CPU and CUDA pooling kernels.
#include <cstdint>

namespace ember::kernels {

struct PoolGeometry {
  std::int64_t planes, height, width;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  std::int64_t out_h, out_w;
};

}  // namespace ember::kernels
