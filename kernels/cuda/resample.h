#pragma once
// Separable 2-D resampling (adaptive average pooling, nearest, bilinear) on the GPU, with the CPU
// kernels' contract (kernels/cpu/resample.h). The taps are built on the host and copied to the
// device with the launch. Forward: one thread per output pixel. Backward: one thread per input
// pixel, walking the transposed taps, so gradients are added without atomics and in the CPU's
// order.
#include <cstdint>

#include "core/scalar_type.h"
#include "kernels/resample_taps.h"

namespace ember::kernels::cuda {

void resample2d(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width, const AxisTaps& rows,
                const AxisTaps& cols, const void* in, void* out);
void resample2d_backward(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width,
                         const AxisTaps& rows, const AxisTaps& cols, const void* grad_out, void* grad_in);

}  // namespace ember::kernels::cuda
