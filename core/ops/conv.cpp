#include "core/ops/conv.h"

#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "core/ops/view.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"

namespace ember {

using Grads = std::vector<Tensor>;
using kernels::cpu::ConvGeometry;
using kernels::cpu::MatrixRef;

namespace {

ConvGeometry check_and_plan(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  const Device device = bias.defined() ? detail::common_device("conv2d", {&input, &weight, &bias})
                                       : detail::common_device("conv2d", {&input, &weight});
  detail::check_cpu("conv2d", device);
  detail::check_floating("conv2d", input);
  detail::check_same_dtype("conv2d", input, weight);
  EMBER_CHECK(input.dim() == 4 && weight.dim() == 4, "conv2d: expected input [N, C, H, W] and weight [OC, C/groups, KH, KW], got ",
              describe(input), " and ", describe(weight));
  const std::int64_t groups = p.groups;
  EMBER_CHECK(groups >= 1 && input.size(1) % groups == 0 && weight.size(0) % groups == 0, "conv2d: groups ", groups,
              " must divide the input channels ", input.size(1), " and the output channels ", weight.size(0));
  EMBER_CHECK(weight.size(1) * groups == input.size(1), "conv2d: weight of shape ", to_string(weight.sizes()),
              " expects ", weight.size(1) * groups, " input channels, but input of shape ", to_string(input.sizes()),
              " has ", input.size(1));
  for (int i = 0; i < 2; ++i) {
    EMBER_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0, "conv2d: stride and dilation must be >= 1 "
                "and padding >= 0, got stride ", p.stride[i], ", padding ", p.padding[i], ", dilation ", p.dilation[i]);
  }
  if (bias.defined()) {
    detail::check_same_dtype("conv2d", input, bias);
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "conv2d: bias of shape ", to_string(bias.sizes()),
                " does not match ", weight.size(0), " output channels");
  }
  ConvGeometry g{input.size(0), input.size(1), input.size(2), input.size(3), weight.size(2), weight.size(3),
                 p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1], 0, 0};
  // The padded input must hold one dilated window (checked before dividing: C++ division
  // truncates a negative span towards zero).
  const std::int64_t span_h = g.height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1;
  const std::int64_t span_w = g.width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1;
  EMBER_CHECK(span_h >= 0 && span_w >= 0, "conv2d: input of shape ", to_string(input.sizes()), " is smaller than the ",
              g.kernel_h, "x", g.kernel_w, " kernel (with padding ", g.pad_h, "x", g.pad_w, " and dilation ",
              g.dilation_h, "x", g.dilation_w, ")");
  g.out_h = span_h / g.stride_h + 1;
  g.out_w = span_w / g.stride_w + 1;
  return g;
}

// C = A @ B for row-major or transposed operands given by pointer and strides (one GEMM).
void matmul_into(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a, const MatrixRef& b,
                 void* c, std::int64_t c_row_stride) {
  kernels::cpu::gemm(dtype, 1, m, n, k, a, 0, b, 0, c, c_row_stride, 0, /*accumulate=*/true);
}

const char* offset(const Tensor& t, std::int64_t elements) {
  return static_cast<const char*>(t.data_ptr()) + elements * static_cast<std::int64_t>(size_of(t.dtype()));
}
char* offset(Tensor& t, std::int64_t elements) {
  return static_cast<char*>(t.data_ptr()) + elements * static_cast<std::int64_t>(size_of(t.dtype()));
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dParams& params) {
  const ConvGeometry g = check_and_plan(input, weight, bias, params);
  const DType dtype = input.dtype();
  const std::int64_t groups = params.groups;
  const std::int64_t out_channels = weight.size(0);
  const std::int64_t rows = g.channels * g.kernel_h * g.kernel_w;  // of the column matrix
  const std::int64_t columns = g.batch * g.out_h * g.out_w;
  const std::int64_t group_rows = rows / groups, group_out = out_channels / groups;

  const Tensor x = input.contiguous();
  const Tensor w = weight.contiguous();
  Tensor cols = empty({rows, columns}, {.dtype = dtype});
  kernels::cpu::im2col(dtype, g, x.data_ptr(), cols.data_ptr());

  // out[OC, N*OH*OW] starts at the bias (or zero); each group's GEMM accumulates onto it.
  Tensor out = empty({out_channels, columns}, {.dtype = dtype});
  if (bias.defined()) {
    detail::copy_data(out, bias.detach().unsqueeze(1).expand({out_channels, columns}));
  } else {
    zero_(out);
  }
  for (std::int64_t group = 0; group < groups; ++group) {
    matmul_into(dtype, group_out, columns, group_rows, {offset(w, group * group_out * group_rows), group_rows, 1},
                {offset(cols, group * group_rows * columns), columns, 1}, offset(out, group * group_out * columns),
                columns);
  }
  // [OC, N, OH, OW] -> [N, OC, OH, OW]
  Tensor result = out.view({out_channels, g.batch, g.out_h, g.out_w}).permute({1, 0, 2, 3}).contiguous();

  if (detail::needs_grad(input, weight, bias)) {
    record_op("conv2d", result, {input, weight, bias}, [cols, w, g, groups](const Tensor& grad, const Node& node) {
      const DType dtype = grad.dtype();
      const std::int64_t out_channels = w.size(0);
      const std::int64_t rows = cols.size(0), columns = cols.size(1);
      const std::int64_t group_rows = rows / groups, group_out = out_channels / groups;
      // grad as a matrix [OC, N*OH*OW], the layout of the forward's product.
      const Tensor grad_matrix = grad.permute({1, 0, 2, 3}).contiguous().view({out_channels, columns});
      Tensor grad_input, grad_weight, grad_bias;
      if (node.needs_input_grad(0)) {
        // d cols = W^T @ d out per group, then scattered back onto the image by col2im.
        Tensor grad_cols = zeros({rows, columns}, {.dtype = dtype});
        for (std::int64_t group = 0; group < groups; ++group) {
          matmul_into(dtype, group_rows, columns, group_out, {offset(w, group * group_out * group_rows), 1, group_rows},
                      {offset(grad_matrix, group * group_out * columns), columns, 1},
                      offset(grad_cols, group * group_rows * columns), columns);
        }
        grad_input = zeros({g.batch, g.channels, g.height, g.width}, {.dtype = dtype});
        kernels::cpu::col2im(dtype, g, grad_cols.data_ptr(), grad_input.data_ptr());
      }
      if (node.needs_input_grad(1)) {
        // d W = d out @ cols^T per group.
        grad_weight = zeros(w.sizes(), {.dtype = dtype});
        for (std::int64_t group = 0; group < groups; ++group) {
          matmul_into(dtype, group_out, group_rows, columns, {offset(grad_matrix, group * group_out * columns), columns, 1},
                      {offset(cols, group * group_rows * columns), 1, columns},
                      offset(grad_weight, group * group_out * group_rows), group_rows);
        }
      }
      if (node.needs_input_grad(2)) grad_bias = sum(grad_matrix, {1});
      return Grads{grad_input, grad_weight, grad_bias};
    });
  }
  return result;
}

}  // namespace ember
