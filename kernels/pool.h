#pragma once
// 2-D max and average pooling over contiguous [planes, H, W] buffers (planes = N * C).
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/pool.cpp and
// kernels/cuda/pool.cu define them.
#include <cstdint>

#include "kernels/pool_geometry.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// out = max over each window (padding never wins); indices = flat h*W+w of the max in its plane.
using MaxPool2dKernel = void(DType dtype, const PoolGeometry& g, const void* in, void* out, std::int64_t* indices);
// grad_in[plane, indices] += grad_out (grad_in zeroed by the caller).
using MaxPool2dBackwardKernel = void(DType dtype, const PoolGeometry& g, const void* grad_out,
                                     const std::int64_t* indices, void* grad_in);
// out = sum over each window's elements inside the image / avg_pool_divisor (kernels/pool_geometry.h).
using AvgPool2dKernel = void(DType dtype, const PoolGeometry& g, const void* in, void* out);
// grad_in += grad_out / avg_pool_divisor over each window (grad_in zeroed by the caller).
using AvgPool2dBackwardKernel = void(DType dtype, const PoolGeometry& g, const void* grad_out, void* grad_in);

namespace cpu {
MaxPool2dKernel max_pool2d;
MaxPool2dBackwardKernel max_pool2d_backward;
AvgPool2dKernel avg_pool2d;
AvgPool2dBackwardKernel avg_pool2d_backward;
}  // namespace cpu

namespace cuda {
MaxPool2dKernel max_pool2d;
MaxPool2dBackwardKernel max_pool2d_backward;
AvgPool2dKernel avg_pool2d;
AvgPool2dBackwardKernel avg_pool2d_backward;
}  // namespace cuda

}  // namespace ember::kernels
