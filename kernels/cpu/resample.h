#pragma once
// Separable 2-D resampling over contiguous [planes, H, W] buffers on the CPU, from the taps of
// kernels/resample_taps.h.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/resample_taps.h"

namespace ember::kernels::cpu {

void resample2d(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width, const AxisTaps& rows,
                const AxisTaps& cols, const void* in, void* out);
// The adjoint: grad_in[p, i, j] += row_weight col_weight grad_out[p, oh, ow] (grad_in zeroed by
// the caller). Threads split planes, so the sums need no atomics.
void resample2d_backward(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width,
                         const AxisTaps& rows, const AxisTaps& cols, const void* grad_out, void* grad_in);

}  // namespace ember::kernels::cpu
