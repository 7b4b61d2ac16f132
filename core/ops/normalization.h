#pragma once
// Layer and batch normalization as single fused ops (kernels/*/normalization), with PyTorch's
// functional signatures. Under autocast both run in f32.
#include "core/shape.h"
#include "core/tensor.h"

namespace ember {

// Normalizes over the trailing dims `normalized_shape` of `input`:
//   (x - mean) / sqrt(var + eps) * weight + bias   (biased variance).
// weight and bias have shape `normalized_shape` and input's dtype, or are undefined.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// Normalizes each channel (dim 1) of input [N, C, ...] over every other dim. In training the
// statistics come from the batch, and defined running_mean / running_var (f32 or input's dtype,
// shape [C]) move towards them by `momentum` (the variance unbiased, as PyTorch does); otherwise
// the running statistics are used. weight and bias [C] may be undefined.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);

}  // namespace ember
