#include "core/ops/pool.h"

#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "kernels/pool.h"

namespace ember {

using Grads = std::vector<Tensor>;
using kernels::PoolGeometry;

namespace {

PoolGeometry plan_pool(const char* op, const Tensor& input, const Pool2dParams& p) {
  detail::common_device(op, {&input});
  detail::check_floating(op, input);
  EMBER_CHECK(input.dim() == 4, op, ": expected input [N, C, H, W], got ", describe(input));
  PoolGeometry g{input.size(0) * input.size(1), input.size(2), input.size(3), p.kernel[0], p.kernel[1],
                 p.stride[0] == 0 ? p.kernel[0] : p.stride[0], p.stride[1] == 0 ? p.kernel[1] : p.stride[1],
                 p.padding[0], p.padding[1], 0, 0};
  EMBER_CHECK(g.kernel_h >= 1 && g.kernel_w >= 1 && g.stride_h >= 1 && g.stride_w >= 1, op,
              ": kernel and stride must be positive");
  EMBER_CHECK(2 * g.pad_h <= g.kernel_h && 2 * g.pad_w <= g.kernel_w && g.pad_h >= 0 && g.pad_w >= 0, op,
              ": padding must be at most half the kernel, got padding ", g.pad_h, "x", g.pad_w, " for kernel ",
              g.kernel_h, "x", g.kernel_w);
  // (Checked before dividing: C++ division truncates a negative span towards zero.)
  EMBER_CHECK(g.height + 2 * g.pad_h >= g.kernel_h && g.width + 2 * g.pad_w >= g.kernel_w, op, ": input of shape ", to_string(input.sizes()), " is smaller than the ",
              g.kernel_h, "x", g.kernel_w, " window");
  g.out_h = (g.height + 2 * g.pad_h - g.kernel_h) / g.stride_h + 1;
  g.out_w = (g.width + 2 * g.pad_w - g.kernel_w) / g.stride_w + 1;
  return g;
}

Shape output_sizes(const Tensor& input, const PoolGeometry& g) {
  return {input.size(0), input.size(1), g.out_h, g.out_w};
}

}  // namespace

Tensor max_pool2d(const Tensor& input, const Pool2dParams& params) {
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
  return out;
}

Tensor avg_pool2d(const Tensor& input, const Pool2dParams& params) {
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

}  // namespace ember
