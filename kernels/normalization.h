#pragma once
// Fused LayerNorm and BatchNorm kernels over contiguous buffers. One pass computes each norm's
// statistics and output; the backward computes every gradient from the saved statistics,
// instead of the dozen elementwise and reduction ops of the composed formula.
//
// Statistics (mean, rstd, var) are stored in the compute type: f32 for f32/f16/bf16, f64 for
// f64. Sums accumulate in f64. weight and bias have the input's dtype and may be null (no
// affine transform); gradient outputs may be null when not needed.
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/normalization.cpp and
// kernels/cuda/normalization.cu define them.
#include <cstdint>

#include "kernels/scalar_type.h"

namespace ember::kernels {

// LayerNorm over each row of x [rows, cols]:
//   mean = sum(x) / cols, rstd = 1 / sqrt(sum((x - mean)^2) / cols + eps),
//   y = (x - mean) rstd weight + bias.
using LayerNormKernel = void(DType dtype, std::int64_t rows, std::int64_t cols, const void* x, const void* weight,
                             const void* bias, double eps, void* y, void* mean, void* rstd);
// With xhat = (x - mean) rstd and gw = grad_y weight:
//   grad_x = rstd (gw - mean(gw) - xhat mean(gw xhat))   (means over the row),
//   grad_weight = sum over rows of grad_y xhat, grad_bias = sum over rows of grad_y.
using LayerNormBackwardKernel = void(DType dtype, std::int64_t rows, std::int64_t cols, const void* grad_y,
                                     const void* x, const void* mean, const void* rstd, const void* weight,
                                     void* grad_x, void* grad_weight, void* grad_bias);
// BatchNorm over x [batch, channels, spatial]: per channel, the mean and biased variance over
// batch and spatial positions.
using BatchNormStatisticsKernel = void(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                                       const void* x, void* mean, void* var);
// y = (x - mean) invstd weight + bias, per channel.
using BatchNormKernel = void(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                             const void* x, const void* mean, const void* invstd, const void* weight, const void* bias,
                             void* y);
// With xhat = (x - mean) invstd, n = batch * spatial and per-channel sums of grad_y and grad_y xhat:
//   training: grad_x = weight invstd (grad_y - sum(grad_y) / n - xhat sum(grad_y xhat) / n)
//   (mean and invstd came from this batch), otherwise grad_x = grad_y weight invstd;
//   grad_weight = sum(grad_y xhat), grad_bias = sum(grad_y).
using BatchNormBackwardKernel = void(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                                     const void* grad_y, const void* x, const void* mean, const void* invstd,
                                     const void* weight, bool training, void* grad_x, void* grad_weight,
                                     void* grad_bias);

namespace cpu {
LayerNormKernel layer_norm;
LayerNormBackwardKernel layer_norm_backward;
BatchNormStatisticsKernel batch_norm_statistics;
BatchNormKernel batch_norm;
BatchNormBackwardKernel batch_norm_backward;
}  // namespace cpu

namespace cuda {
LayerNormKernel layer_norm;
LayerNormBackwardKernel layer_norm_backward;
BatchNormStatisticsKernel batch_norm_statistics;
BatchNormKernel batch_norm;
BatchNormBackwardKernel batch_norm_backward;
}  // namespace cuda

}  // namespace ember::kernels
