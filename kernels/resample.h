#pragma once
// Separable 2-D resampling over contiguous [planes, H, W] buffers on the CPU, from the taps of
// kernels/resample_taps.h.
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/resample.cpp and
// kernels/cuda/resample.cu define them.
#include <cstdint>

#include "kernels/resample_taps.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

using Resample2dKernel = void(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width,
                              const AxisTaps& rows, const AxisTaps& cols, const void* in, void* out);
// The adjoint: grad_in[p, i, j] += row_weight col_weight grad_out[p, oh, ow] (grad_in zeroed by
// the caller). Threads split planes, so the sums need no atomics.
using Resample2dBackwardKernel = void(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width,
                                      const AxisTaps& rows, const AxisTaps& cols, const void* grad_out, void* grad_in);

namespace cpu {
Resample2dKernel resample2d;
Resample2dBackwardKernel resample2d_backward;
}  // namespace cpu

namespace cuda {
Resample2dKernel resample2d;
Resample2dBackwardKernel resample2d_backward;
}  // namespace cuda

}  // namespace ember::kernels
