#pragma once
// Normalization layers.
#include "nn/module.h"

namespace ember::nn {

// Per channel of [N, C, H, W]: (x - mean) / sqrt(var + eps) * weight + bias. Training uses the
// batch's statistics (biased variance) and updates the running ones with `momentum` (the
// unbiased variance, like PyTorch); eval uses the running statistics.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(std::int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "BatchNorm2d"; }

  Tensor weight, bias;                                   // parameters, [C]: ones and zeros
  Tensor running_mean, running_var, num_batches_tracked;  // buffers
  double eps, momentum;
};

// Normalizes over the trailing dims given by `normalized_shape`, with an elementwise affine map.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "LayerNorm"; }

  Tensor weight, bias;  // normalized_shape, or undefined without the affine map
  Shape normalized_shape;
  double eps;
};

}  // namespace ember::nn
