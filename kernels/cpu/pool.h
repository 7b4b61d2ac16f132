#pragma once
// 2-D max and average pooling over contiguous [planes, H, W] buffers (planes = N * C).
#include <cstdint>

#include "core/dtype.h"
#include "kernels/pool_geometry.h"

namespace ember::kernels::cpu {

// out = max over each window (padding never wins); indices = flat h*W+w of the max in its plane.
void max_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out, std::int64_t* indices);
// grad_in[plane, indices] += grad_out (grad_in zeroed by the caller).
void max_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, const std::int64_t* indices,
                         void* grad_in);
// out = mean over each window, padding counted as zeros (PyTorch's count_include_pad=True).
void avg_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out);
// grad_in += grad_out / window size over each window (grad_in zeroed by the caller).
void avg_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, void* grad_in);

}  // namespace ember::kernels::cpu
