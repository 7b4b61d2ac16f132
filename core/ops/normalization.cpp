#include "core/ops/normalization.h"

#include "core/autocast.h"
#include "core/autograd/grad_mode.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "kernels/normalization.h"

namespace ember {

using Grads = std::vector<Tensor>;

namespace {

// Statistics are kept in the compute type: f64 for f64 inputs, f32 otherwise.
DType statistics_dtype(DType dtype) { return dtype == DType::f64 ? DType::f64 : DType::f32; }

const void* data_or_null(const Tensor& tensor) { return tensor.defined() ? tensor.data_ptr() : nullptr; }
void* mutable_data_or_null(const Tensor& tensor) { return tensor.defined() ? tensor.data_ptr() : nullptr; }

// An optional affine parameter: undefined, or `sizes` with input's dtype and device.
void check_parameter(const char* op, const char* name, const Tensor& parameter, const Tensor& input,
                     const Shape& sizes) {
  if (!parameter.defined()) return;
  detail::common_device(op, {&input, &parameter});
  EMBER_CHECK(parameter.sizes() == sizes && parameter.dtype() == input.dtype(), op, ": ", name, " must be a ",
              to_string(sizes), " tensor of dtype ", input.dtype(), " for input ", describe(input), ", got ",
              describe(parameter));
}

// A zero-filled gradient buffer like `like` when node input i needs it, else undefined.
Tensor gradient_buffer(const Node& node, std::size_t i, const Tensor& like) {
  return node.needs_input_grad(i) ? empty(like.sizes(), {.dtype = like.dtype(), .device = like.device()}) : Tensor();
}

}  // namespace

Tensor layer_norm(const Tensor& input_in, const Shape& normalized_shape, const Tensor& weight_in,
                  const Tensor& bias_in, double eps) {
  const char* op = "layer_norm";
  const Tensor input = detail::autocast_f32(input_in);
  detail::check_defined(op, input);
  detail::check_floating(op, input);
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  const bool fits = k > 0 && input.dim() >= k && Shape(input.sizes().end() - k, input.sizes().end()) == normalized_shape;
  EMBER_CHECK(fits, op, ": input ", describe(input), " does not end in normalized_shape ",
              to_string(normalized_shape));
  const std::int64_t cols = numel(normalized_shape);
  EMBER_CHECK(cols > 0, op, ": normalized_shape ", to_string(normalized_shape), " has no elements");
  check_parameter(op, "weight", weight_in, input, normalized_shape);
  check_parameter(op, "bias", bias_in, input, normalized_shape);
  const Device device = detail::common_device(op, {&input});
  const std::int64_t rows = input.numel() / cols;

  const Tensor x = input.contiguous();
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor out = empty_like(x);
  const TensorOptions stats{.dtype = statistics_dtype(input.dtype()), .device = device};
  Tensor mean = empty({rows}, stats), rstd = empty({rows}, stats);
  EMBER_KERNEL(op, device, layer_norm, input.dtype(), rows, cols, x.data_ptr(), data_or_null(weight),
               data_or_null(bias), eps, out.data_ptr(), mean.data_ptr(), rstd.data_ptr());
  if (detail::needs_grad(input, weight_in, bias_in)) {
    record_op(op, out, {input, weight_in, bias_in},
              [op, rows, cols, saved_x = SavedTensor(x), saved_weight = SavedTensor(weight), mean,
               rstd](const Tensor& grad, const Node& node) {
                const Tensor& x = saved_x.get();
                const Tensor& weight = saved_weight.get();
                const Tensor dy = grad.contiguous();
                Grads grads{gradient_buffer(node, 0, x), gradient_buffer(node, 1, weight),
                            gradient_buffer(node, 2, weight)};
                EMBER_KERNEL(op, x.device(), layer_norm_backward, x.dtype(), rows, cols, dy.data_ptr(),
                             x.data_ptr(), mean.data_ptr(), rstd.data_ptr(), data_or_null(weight),
                             mutable_data_or_null(grads[0]), mutable_data_or_null(grads[1]),
                             mutable_data_or_null(grads[2]));
                return grads;
              });
  }
  return out;
}

Tensor batch_norm(const Tensor& input_in, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight_in, const Tensor& bias_in, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  const Tensor input = detail::autocast_f32(input_in);
  detail::check_defined(op, input);
  detail::check_floating(op, input);
  EMBER_CHECK(input.dim() >= 2, op, ": expected input [N, C, ...], got ", describe(input));
  const Device device = detail::common_device(op, {&input});
  const std::int64_t batch = input.size(0), channels = input.size(1);
  const std::int64_t spatial = channels == 0 || batch == 0 ? 0 : input.numel() / (batch * channels);
  check_parameter(op, "weight", weight_in, input, {channels});
  check_parameter(op, "bias", bias_in, input, {channels});
  EMBER_CHECK(running_mean.defined() == running_var.defined(), op,
              ": running_mean and running_var must both be given or both be undefined");
  for (const Tensor* running : {&running_mean, &running_var}) {
    if (!running->defined()) continue;
    detail::common_device(op, {&input, running});
    EMBER_CHECK(running->sizes() == Shape{channels} && is_floating(running->dtype()), op,
                ": running statistics must be floating [", channels, "] tensors, got ", describe(*running));
  }
  EMBER_CHECK(training || running_mean.defined(), op, ": evaluation needs running_mean and running_var");
  const std::int64_t count = batch * spatial;
  EMBER_CHECK(!training || count > 1, op, ": training needs more than one value per channel, got input ",
              describe(input));

  const DType stats_dtype = statistics_dtype(input.dtype());
  const Tensor x = input.contiguous();
  Tensor mean, invstd;
  {
    NoGradGuard no_grad;  // statistics and running updates are not part of the graph
    if (training) {
      mean = empty({channels}, {.dtype = stats_dtype, .device = device});
      Tensor var = empty({channels}, {.dtype = stats_dtype, .device = device});
      EMBER_KERNEL(op, device, batch_norm_statistics, input.dtype(), batch, channels, spatial, x.data_ptr(),
                   mean.data_ptr(), var.data_ptr());
      invstd = pow(var + eps, -0.5);
      if (running_mean.defined()) {
        const Tensor unbiased = var * (static_cast<double>(count) / static_cast<double>(count - 1));
        add_(mul_(running_mean, 1 - momentum), mean.to(running_mean.dtype()), momentum);
        add_(mul_(running_var, 1 - momentum), unbiased.to(running_var.dtype()), momentum);
      }
    } else {
      mean = running_mean.to(stats_dtype).contiguous();
      invstd = pow(running_var.to(stats_dtype) + eps, -0.5);
    }
  }
  const Tensor weight = weight_in.defined() ? weight_in.contiguous() : Tensor();
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor out = empty_like(x);
  EMBER_KERNEL(op, device, batch_norm, input.dtype(), batch, channels, spatial, x.data_ptr(), mean.data_ptr(),
               invstd.data_ptr(), data_or_null(weight), data_or_null(bias), out.data_ptr());
  if (detail::needs_grad(input, weight_in, bias_in)) {
    record_op(op, out, {input, weight_in, bias_in},
              [op, batch, channels, spatial, training, saved_x = SavedTensor(x), saved_weight = SavedTensor(weight),
               mean, invstd](const Tensor& grad, const Node& node) {
                const Tensor& x = saved_x.get();
                const Tensor& weight = saved_weight.get();
                const Tensor dy = grad.contiguous();
                Grads grads{gradient_buffer(node, 0, x), gradient_buffer(node, 1, weight),
                            gradient_buffer(node, 2, weight)};
                EMBER_KERNEL(op, x.device(), batch_norm_backward, x.dtype(), batch, channels, spatial,
                             dy.data_ptr(), x.data_ptr(), mean.data_ptr(), invstd.data_ptr(), data_or_null(weight),
                             training, mutable_data_or_null(grads[0]), mutable_data_or_null(grads[1]),
                             mutable_data_or_null(grads[2]));
                return grads;
              });
  }
  return out;
}

}  // namespace ember
