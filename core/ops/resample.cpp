#include "core/ops/resample.h"

#include <cmath>

#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "kernels/resample.h"

namespace ember {

using Grads = std::vector<Tensor>;
using kernels::AxisTaps;

namespace {

void check_image(const char* op, const Tensor& input) {
  detail::common_device(op, {&input});
  detail::check_floating(op, input);
  EMBER_CHECK(input.dim() == 4, op, ": expected input [N, C, H, W], got ", describe(input));
}

// out[N, C, rows.outputs(), cols.outputs()] from the taps, with the matching backward.
Tensor resample(const char* op, const Tensor& input, AxisTaps rows, AxisTaps cols) {
  const std::int64_t planes = input.size(0) * input.size(1), height = input.size(2), width = input.size(3);
  const Tensor x = input.contiguous();
  Tensor out = empty({input.size(0), input.size(1), rows.outputs(), cols.outputs()},
                     {.dtype = input.dtype(), .device = input.device()});
  EMBER_KERNEL(op, input.device(), resample2d, input.dtype(), planes, height, width, rows, cols, x.data_ptr(),
               out.data_ptr());
  if (detail::needs_grad(input)) {
    record_op(op, out, {input}, [op, rows = std::move(rows), cols = std::move(cols), planes, height, width,
                                 sizes = input.sizes()](const Tensor& grad, const Node&) {
      Tensor grad_input = zeros(sizes, {.dtype = grad.dtype(), .device = grad.device()});
      const Tensor dense = grad.contiguous();
      EMBER_KERNEL(op, grad.device(), resample2d_backward, grad.dtype(), planes, height, width, rows, cols,
                   dense.data_ptr(), grad_input.data_ptr());
      return Grads{grad_input};
    });
  }
  return out;
}

// The source-coordinate step of one axis, PyTorch's area_pixel_compute_scale.
double source_step(std::int64_t in, std::int64_t out, double factor, const InterpolateOptions& options) {
  if (options.mode == InterpolateMode::bilinear && options.align_corners) {
    return out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
  }
  return factor > 0 ? 1.0 / factor : static_cast<double>(in) / static_cast<double>(out);
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& input, const std::array<std::int64_t, 2>& output_size) {
  const char* op = "adaptive_avg_pool2d";
  check_image(op, input);
  EMBER_CHECK(output_size[0] >= 1 && output_size[1] >= 1 && input.size(2) >= 1 && input.size(3) >= 1, op,
              ": output size ", output_size[0], "x", output_size[1], " and the input's H and W must be positive, got ",
              describe(input));
  return resample(op, input, kernels::adaptive_average_taps(input.size(2), output_size[0]),
                  kernels::adaptive_average_taps(input.size(3), output_size[1]));
}

Tensor interpolate(const Tensor& input, const InterpolateOptions& options) {
  const char* op = "interpolate";
  check_image(op, input);
  const bool by_size = options.size[0] > 0 || options.size[1] > 0;
  const bool by_factor = options.scale_factor[0] > 0 || options.scale_factor[1] > 0;
  EMBER_CHECK(by_size != by_factor, op, ": give either size or scale_factor, not ", by_size ? "both" : "neither");
  EMBER_CHECK(!options.align_corners || options.mode == InterpolateMode::bilinear, op,
              ": align_corners only applies to bilinear interpolation");
  std::array<AxisTaps, 2> taps;
  for (int axis = 0; axis < 2; ++axis) {
    const std::int64_t in = input.size(2 + axis);
    const double factor = by_factor ? options.scale_factor[axis] : 0.0;
    const std::int64_t out =
        by_size ? options.size[axis] : static_cast<std::int64_t>(std::floor(static_cast<double>(in) * factor));
    EMBER_CHECK(in >= 1 && out >= 1, op, ": input ", describe(input), " would give an output of size ", out,
                " along dim ", 2 + axis, " (size ", options.size[0], "x", options.size[1], ", scale_factor ",
                options.scale_factor[0], "x", options.scale_factor[1], ")");
    const double step = source_step(in, out, factor, options);
    taps[axis] = options.mode == InterpolateMode::nearest ? kernels::nearest_taps(in, out, step)
                                                          : kernels::linear_taps(in, out, step, options.align_corners);
  }
  return resample(op, input, std::move(taps[0]), std::move(taps[1]));
}

}  // namespace ember
