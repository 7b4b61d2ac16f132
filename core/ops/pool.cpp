#include "core/ops/pool.h"

#include "core/ops/factory.h"
#include "core/ops/indexing.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "core/ops/view.h"
#include "kernels/pool.h"

namespace ember {

using Grads = std::vector<Tensor>;
using kernels::PoolGeometry;

namespace {

// PyTorch's pooled size along one dim: floor (or ceil) of the span over the stride, plus one;
// in ceil mode a last window starting in the padding is dropped.
std::int64_t pooled_size(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                         std::int64_t dilation, bool ceil_mode) {
  const std::int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;  // >= 0, checked by the caller
  std::int64_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

PoolGeometry plan_pool(const char* op, const Tensor& input, const Pool2dParams& p) {
  detail::common_device(op, {&input});
  detail::check_floating(op, input);
  EMBER_CHECK(input.dim() == 4, op, ": expected input [N, C, H, W], got ", describe(input));
  PoolGeometry g{.planes = input.size(0) * input.size(1),
                 .height = input.size(2),
                 .width = input.size(3),
                 .kernel_h = p.kernel[0],
                 .kernel_w = p.kernel[1],
                 .stride_h = p.stride[0] == 0 ? p.kernel[0] : p.stride[0],
                 .stride_w = p.stride[1] == 0 ? p.kernel[1] : p.stride[1],
                 .pad_h = p.padding[0],
                 .pad_w = p.padding[1],
                 .dilation_h = p.dilation[0],
                 .dilation_w = p.dilation[1],
                 .count_include_pad = p.count_include_pad,
                 .divisor_override = p.divisor_override};
  EMBER_CHECK(g.kernel_h >= 1 && g.kernel_w >= 1 && g.stride_h >= 1 && g.stride_w >= 1, op,
              ": kernel and stride must be positive");
  EMBER_CHECK(g.dilation_h >= 1 && g.dilation_w >= 1, op, ": dilation must be positive, got ", g.dilation_h, "x",
              g.dilation_w);
  EMBER_CHECK(p.divisor_override >= 0, op, ": divisor_override must be positive (or 0 for none), got ",
              p.divisor_override);
  EMBER_CHECK(2 * g.pad_h <= g.kernel_h && 2 * g.pad_w <= g.kernel_w && g.pad_h >= 0 && g.pad_w >= 0, op,
              ": padding must be at most half the kernel, got padding ", g.pad_h, "x", g.pad_w, " for kernel ",
              g.kernel_h, "x", g.kernel_w);
  const std::int64_t extent_h = g.dilation_h * (g.kernel_h - 1) + 1, extent_w = g.dilation_w * (g.kernel_w - 1) + 1;
  // (Checked before dividing: C++ division truncates a negative span towards zero.)
  EMBER_CHECK(g.height + 2 * g.pad_h >= extent_h && g.width + 2 * g.pad_w >= extent_w, op, ": input of shape ",
              to_string(input.sizes()), " is smaller than the ", extent_h, "x", extent_w, " window");
  g.out_h = pooled_size(g.height, g.kernel_h, g.stride_h, g.pad_h, g.dilation_h, p.ceil_mode);
  g.out_w = pooled_size(g.width, g.kernel_w, g.stride_w, g.pad_w, g.dilation_w, p.ceil_mode);
  return g;
}

Shape output_sizes(const Tensor& input, const PoolGeometry& g) {
  return {input.size(0), input.size(1), g.out_h, g.out_w};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const Pool2dParams& params) {
  const PoolGeometry g = plan_pool("max_pool2d", input, params);
  const Tensor x = input.contiguous();
  const Device device = input.device();
  Tensor out = empty(output_sizes(input, g), {.dtype = input.dtype(), .device = device});
  Tensor indices = empty(out.sizes(), {.dtype = DType::i64, .device = device});
  EMBER_KERNEL("max_pool2d", device, max_pool2d, input.dtype(), g, x.data_ptr(), out.data_ptr(),
               indices.data<std::int64_t>());
  if (detail::needs_grad(input)) {
    record_op("max_pool2d", out, {input}, [g, indices, input_sizes = input.sizes()](const Tensor& grad, const Node&) {
      Tensor grad_input = zeros(input_sizes, {.dtype = grad.dtype(), .device = grad.device()});
      const Tensor dense = grad.contiguous();
      EMBER_KERNEL("max_pool2d", grad.device(), max_pool2d_backward, grad.dtype(), g, dense.data_ptr(),
                   indices.data<std::int64_t>(), grad_input.data_ptr());
      return Grads{grad_input};
    });
  }
  return {out, indices};
}

Tensor max_pool2d(const Tensor& input, const Pool2dParams& params) {
  return max_pool2d_with_indices(input, params).first;
}

Tensor avg_pool2d(const Tensor& input, const Pool2dParams& params) {
  EMBER_CHECK(params.dilation[0] == 1 && params.dilation[1] == 1,
              "avg_pool2d: dilation is an option of max pooling only (PyTorch's AvgPool2d has none)");
  const PoolGeometry g = plan_pool("avg_pool2d", input, params);
  const Tensor x = input.contiguous();
  Tensor out = empty(output_sizes(input, g), {.dtype = input.dtype(), .device = input.device()});
  EMBER_KERNEL("avg_pool2d", input.device(), avg_pool2d, input.dtype(), g, x.data_ptr(), out.data_ptr());
  if (detail::needs_grad(input)) {
    record_op("avg_pool2d", out, {input}, [g, input_sizes = input.sizes()](const Tensor& grad, const Node&) {
      Tensor grad_input = zeros(input_sizes, {.dtype = grad.dtype(), .device = grad.device()});
      const Tensor dense = grad.contiguous();
      EMBER_KERNEL("avg_pool2d", grad.device(), avg_pool2d_backward, grad.dtype(), g, dense.data_ptr(),
                   grad_input.data_ptr());
      return Grads{grad_input};
    });
  }
  return out;
}

Tensor max_unpool2d(const Tensor& input, const Tensor& indices, const Pool2dParams& params,
                    std::array<std::int64_t, 2> output_size) {
  detail::common_device("max_unpool2d", {&input, &indices});
  detail::check_floating("max_unpool2d", input);
  EMBER_CHECK(input.dim() == 4, "max_unpool2d: expected input [N, C, H, W], got ", describe(input));
  EMBER_CHECK(indices.dtype() == DType::i64 && indices.sizes() == input.sizes(),
              "max_unpool2d: indices must be i64 of the input's shape ", to_string(input.sizes()), ", got ",
              describe(indices));
  for (int d = 0; d < 2; ++d) {
    const std::int64_t stride = params.stride[d] == 0 ? params.kernel[d] : params.stride[d];
    if (output_size[d] == 0) output_size[d] = (input.size(2 + d) - 1) * stride - 2 * params.padding[d] + params.kernel[d];
    EMBER_CHECK(output_size[d] > 0, "max_unpool2d: output size ", output_size[0], "x", output_size[1],
                " must be positive (input ", describe(input), ")");
  }
  const std::int64_t plane = output_size[0] * output_size[1];
  if (indices.numel() > 0) {
    const auto low = min(indices).item<std::int64_t>(), high = max(indices).item<std::int64_t>();
    EMBER_CHECK(low >= 0 && high < plane, "max_unpool2d: index ", (low < 0 ? low : high),
                " is outside the output plane of ", output_size[0], "x", output_size[1]);
  }
  const std::int64_t n = input.size(0), c = input.size(1);
  const Tensor flat_out = zeros({n, c, plane}, {.dtype = input.dtype(), .device = input.device()});
  return scatter(flat_out, 2, indices.reshape({n, c, -1}), input.reshape({n, c, -1}))
      .view({n, c, output_size[0], output_size[1]});
}

}  // namespace ember
