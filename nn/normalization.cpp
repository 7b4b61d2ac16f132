#include "nn/normalization.h"

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::nn {

BatchNorm2d::BatchNorm2d(std::int64_t channels, double eps, double momentum) : eps(eps), momentum(momentum) {
  EMBER_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got ", channels);
  weight = register_parameter("weight", ones({channels}));
  bias = register_parameter("bias", zeros({channels}));
  running_mean = register_buffer("running_mean", zeros({channels}));
  running_var = register_buffer("running_var", ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {.dtype = DType::i64}));
}

Tensor BatchNorm2d::forward(const Tensor& input) {
  EMBER_CHECK(input.dim() == 4 && input.size(1) == weight.size(0), "BatchNorm2d: expected input [N, ", weight.size(0),
              ", H, W], got ", describe(input));
  Tensor out = batch_norm(input, running_mean, running_var, weight, bias, is_training(), momentum, eps);
  if (is_training()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(ones({}, {.dtype = DType::i64, .device = num_batches_tracked.device()}));
  }
  return out;
}

LayerNorm::LayerNorm(Shape shape, double eps, bool elementwise_affine) : normalized_shape(std::move(shape)), eps(eps) {
  EMBER_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must not be empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& input) { return layer_norm(input, normalized_shape, weight, bias, eps); }

}  // namespace ember::nn
