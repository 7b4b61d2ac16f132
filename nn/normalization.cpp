#include "nn/normalization.h"

#include <numeric>

#include "core/autocast.h"
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

Tensor BatchNorm2d::forward(const Tensor& input_in) {
  const Tensor input = detail::autocast_f32(input_in);  // norms run in f32 under autocast
  EMBER_CHECK(input.dim() == 4 && input.size(1) == weight.size(0), "BatchNorm2d: expected input [N, ", weight.size(0),
              ", H, W], got ", describe(input));
  const Shape channel_shape{1, weight.size(0), 1, 1};
  Tensor mean, var;
  if (is_training()) {
    const std::int64_t count = input.size(0) * input.size(2) * input.size(3);
    EMBER_CHECK(count > 1, "BatchNorm2d: training needs more than one value per channel, got input ",
                to_string(input.sizes()));
    mean = ember::mean(input, {0, 2, 3}, true);
    var = ember::var(input, {0, 2, 3}, /*correction=*/0, true);
    NoGradGuard no_grad;
    const Tensor unbiased = mul(var.reshape({-1}), static_cast<double>(count) / static_cast<double>(count - 1));
    running_mean.mul_(1 - momentum).add_(mean.reshape({-1}).to(running_mean.dtype()), momentum);
    running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype()), momentum);
    num_batches_tracked.add_(ones({}, {.dtype = DType::i64}));
  } else {
    mean = running_mean.reshape(channel_shape).to(input.dtype());
    var = running_var.reshape(channel_shape).to(input.dtype());
  }
  const Tensor normalized = div(sub(input, mean), sqrt(add(var, eps)));
  return add(mul(normalized, weight.reshape(channel_shape)), bias.reshape(channel_shape));
}

LayerNorm::LayerNorm(Shape shape, double eps, bool elementwise_affine) : normalized_shape(std::move(shape)), eps(eps) {
  EMBER_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must not be empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& input_in) {
  const Tensor input = detail::autocast_f32(input_in);  // norms run in f32 under autocast
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  const bool fits = input.dim() >= k && Shape(input.sizes().end() - k, input.sizes().end()) == normalized_shape;
  EMBER_CHECK(fits, "LayerNorm: input of shape ", to_string(input.sizes()), " does not end in normalized_shape ",
              to_string(normalized_shape));
  Shape dims(static_cast<std::size_t>(k));
  std::iota(dims.begin(), dims.end(), input.dim() - k);
  const Tensor mean = ember::mean(input, dims, true);
  const Tensor var = ember::var(input, dims, /*correction=*/0, true);
  Tensor out = div(sub(input, mean), sqrt(add(var, eps)));
  if (weight.defined()) out = add(mul(out, weight), bias);
  return out;
}

}  // namespace ember::nn
