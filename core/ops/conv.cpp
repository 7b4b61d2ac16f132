#include "core/ops/conv.h"

#include <utility>

#include "core/autocast.h"
#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/pad.h"
#include "core/ops/reduction.h"
#include "kernels/conv.h"
#include "kernels/conv_geometry.h"
#include "kernels/elementwise.h"

namespace ember {

using Grads = std::vector<Tensor>;
using kernels::ConvGeometry;

namespace {

using Pair = std::array<std::int64_t, 2>;

// The checks conv2d and conv_transpose2d share; returns the number of output channels, which
// the weight holds in dim 0, or (transposed) dim 1 per group.
std::int64_t check_operands(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias,
                            std::int64_t groups, bool transposed) {
  if (bias.defined()) {
    detail::common_device(op, {&input, &weight, &bias});
  } else {
    detail::common_device(op, {&input, &weight});
  }
  detail::check_floating(op, input);
  detail::check_same_dtype(op, input, weight);
  EMBER_CHECK(input.dim() == 4 && weight.dim() == 4, op, ": expected input [N, C, H, W] and a 4-d weight, got ",
              describe(input), " and ", describe(weight));
  EMBER_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
  const std::int64_t out_channels = transposed ? weight.size(1) * groups : weight.size(0);
  EMBER_CHECK(input.size(1) % groups == 0 && out_channels % groups == 0, op, ": groups ", groups,
              " must divide the input channels ", input.size(1), " and the output channels ", out_channels);
  if (bias.defined()) {
    detail::check_same_dtype(op, input, bias);
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == out_channels, op, ": bias of shape ", to_string(bias.sizes()),
                " does not match ", out_channels, " output channels");
  }
  return out_channels;
}

void check_window(const char* op, const Pair& stride, const Pair& padding, const Pair& dilation) {
  for (int i = 0; i < 2; ++i) {
    EMBER_CHECK(stride[i] >= 1 && dilation[i] >= 1 && padding[i] >= 0, op, ": stride and dilation must be >= 1 "
                "and padding >= 0, got stride ", stride[i], ", padding ", padding[i], ", dilation ", dilation[i]);
  }
}

// The padded input and the padding left for the convolution itself, from the params' rule and
// mode. Zeros stay the convolution's own (free) padding but for the extra bottom/right row or
// column of an odd "same" total; the other modes pad the input with pad() and leave none.
std::pair<Tensor, Pair> apply_padding(const Tensor& input, const Tensor& weight, const Conv2dParams& p) {
  if (p.padding_rule != ConvPadding::sizes) {
    EMBER_CHECK(p.padding == (Pair{0, 0}), "conv2d: padding sizes ", p.padding[0], "x", p.padding[1],
                " given with padding rule ", p.padding_rule == ConvPadding::same ? "same" : "valid",
                "; set one or the other");
  }
  Pair before = p.padding, after = p.padding;
  if (p.padding_rule == ConvPadding::same) {
    EMBER_CHECK(p.stride == (Pair{1, 1}), "conv2d: padding \"same\" needs stride 1 (as in PyTorch), got stride ",
                p.stride[0], "x", p.stride[1]);
    for (int i = 0; i < 2; ++i) {
      const std::int64_t total = p.dilation[i] * (weight.size(2 + i) - 1);
      before[i] = total / 2;
      after[i] = total - before[i];
    }
  }
  if (p.padding_mode == PadMode::constant) {
    if (before == after) return {input, before};
    return {pad(input, {0, after[1] - before[1], 0, after[0] - before[0]}), before};
  }
  return {pad(input, {before[1], after[1], before[0], after[0]}, p.padding_mode), Pair{0, 0}};
}

// The geometry of the convolution whose *input* is the [N, C, H, W] image `image` of the given
// sizes (for conv_transpose2d that image is the output).
ConvGeometry geometry(const Shape& image, const Tensor& weight, const Pair& stride, const Pair& padding,
                      const Pair& dilation) {
  return {image[0], image[1], image[2], image[3], weight.size(2), weight.size(3), stride[0], stride[1],
          padding[0], padding[1], dilation[0], dilation[1], 0, 0};
}

// The convolution's three products on the tensors' device (kernels/conv.h declares the
// same entry points for both). Each records the other as its backward:
// the image gradient of a convolution is its adjoint applied to the output gradient, and the
// output gradient of the adjoint is the convolution of its image gradient. A bias (either may
// have one) is where the result starts: the kernel accumulates onto it, as linear's GEMM does,
// and its gradient is the output gradient summed over all but the channels.
Tensor convolution_adjoint(const ConvGeometry& g, const Tensor& output, const Tensor& weight, const Tensor& bias,
                           std::int64_t groups);

// d <conv(image, weight), output> / d weight, shaped like `weight`.
Tensor convolution_weight_gradient(const ConvGeometry& g, const Tensor& image, const Tensor& output,
                                   const Tensor& weight, std::int64_t groups) {
  Tensor grad = empty(weight.sizes(), {.dtype = weight.dtype(), .device = weight.device()});
  const Tensor dense_image = image.contiguous(), dense_output = output.contiguous();
  EMBER_KERNEL("conv2d", grad.device(), conv2d_backward_filter, grad.dtype(), g, weight.size(0), groups,
               dense_image.data_ptr(), dense_output.data_ptr(), grad.data_ptr());
  return grad;
}

// An [N, C, H, W] tensor whose every position holds `bias` [C]; without a bias, uninitialized
// (for a kernel that overwrites it).
Tensor start_at_bias(const Shape& sizes, const Tensor& bias, const TensorOptions& options) {
  Tensor result = empty(sizes, options);
  if (bias.defined()) {
    const Tensor per_position = bias.view({1, bias.size(0), 1, 1});
    EMBER_KERNEL("conv2d", result.device(), copy, result.dtype(), bias.dtype(), result.sizes(),
                 detail::operand(result), detail::operand(per_position, result.sizes()));
  }
  return result;
}

// The bias gradient: the output gradient summed over the batch and the positions.
Tensor bias_gradient(const Tensor& grad) { return sum(grad, {0, 2, 3}); }

// conv(image, weight) + bias over `g`: [N, OC, OH, OW].
Tensor convolution(const ConvGeometry& g, const Tensor& image, const Tensor& weight, const Tensor& bias,
                   std::int64_t groups) {
  Tensor out = start_at_bias({g.batch, weight.size(0), g.out_h, g.out_w}, bias,
                             {.dtype = image.dtype(), .device = image.device()});
  const Tensor dense_image = image.contiguous(), dense_weight = weight.contiguous();
  EMBER_KERNEL("conv2d", out.device(), conv2d_forward, out.dtype(), g, weight.size(0), groups, dense_image.data_ptr(),
               dense_weight.data_ptr(), out.data_ptr(), bias.defined());
  if (detail::needs_grad(image, weight, bias)) {
    record_op("conv2d", out, {image, weight, bias},
              [g, groups, saved_image = SavedTensor(image), saved_weight = SavedTensor(weight)](const Tensor& grad,
                                                                                               const Node& node) {
                const Tensor& weight = saved_weight.get();
                return Grads{node.needs_input_grad(0) ? convolution_adjoint(g, grad, weight, Tensor(), groups) : Tensor(),
                             node.needs_input_grad(1)
                                 ? convolution_weight_gradient(g, saved_image.get(), grad, weight, groups)
                                 : Tensor(),
                             node.needs_input_grad(2) ? bias_gradient(grad) : Tensor()};
              });
  }
  return out;
}

// The adjoint of `convolution` in the image, plus bias: [N, C, H, W] from an output-shaped tensor.
Tensor convolution_adjoint(const ConvGeometry& g, const Tensor& output, const Tensor& weight, const Tensor& bias,
                           std::int64_t groups) {
  Tensor image = start_at_bias({g.batch, g.channels, g.height, g.width}, bias,
                               {.dtype = output.dtype(), .device = output.device()});
  const Tensor dense_output = output.contiguous(), dense_weight = weight.contiguous();
  EMBER_KERNEL("conv_transpose2d", image.device(), conv2d_backward_data, image.dtype(), g, weight.size(0), groups,
               dense_weight.data_ptr(), dense_output.data_ptr(), image.data_ptr(), bias.defined());
  if (detail::needs_grad(output, weight, bias)) {
    record_op("conv_transpose2d", image, {output, weight, bias},
              [g, groups, saved_output = SavedTensor(output), saved_weight = SavedTensor(weight)](const Tensor& grad,
                                                                                                 const Node& node) {
                const Tensor& weight = saved_weight.get();
                return Grads{node.needs_input_grad(0) ? convolution(g, grad, weight, Tensor(), groups) : Tensor(),
                             node.needs_input_grad(1)
                                 ? convolution_weight_gradient(g, grad, saved_output.get(), weight, groups)
                                 : Tensor(),
                             node.needs_input_grad(2) ? bias_gradient(grad) : Tensor()};
              });
  }
  return image;
}

}  // namespace

Tensor conv2d(const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in, const Conv2dParams& p) {
  const Tensor unpadded = detail::autocast_lower(input_in), weight = detail::autocast_lower(weight_in),
               bias = detail::autocast_lower(bias_in);
  const char* op = "conv2d";
  check_operands(op, unpadded, weight, bias, p.groups, /*transposed=*/false);
  check_window(op, p.stride, p.padding, p.dilation);
  EMBER_CHECK(weight.size(1) * p.groups == unpadded.size(1), "conv2d: weight of shape ", to_string(weight.sizes()),
              " expects ", weight.size(1) * p.groups, " input channels, but input of shape ",
              to_string(unpadded.sizes()), " has ", unpadded.size(1));
  const auto [input, padding] = apply_padding(unpadded, weight, p);
  ConvGeometry g = geometry(input.sizes(), weight, p.stride, padding, p.dilation);
  // The padded input must hold one dilated window (checked before dividing: C++ division
  // truncates a negative span towards zero).
  const std::int64_t span_h = g.height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1;
  const std::int64_t span_w = g.width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1;
  EMBER_CHECK(span_h >= 0 && span_w >= 0, "conv2d: input of shape ", to_string(unpadded.sizes()), " is smaller than the ",
              g.kernel_h, "x", g.kernel_w, " kernel (with padding ", g.pad_h, "x", g.pad_w, " and dilation ",
              g.dilation_h, "x", g.dilation_w, ")");
  g.out_h = span_h / g.stride_h + 1;
  g.out_w = span_w / g.stride_w + 1;
  return convolution(g, input, weight, bias, p.groups);
}

Tensor conv_transpose2d(const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in,
                        const ConvTranspose2dParams& p) {
  const Tensor input = detail::autocast_lower(input_in), weight = detail::autocast_lower(weight_in),
               bias = detail::autocast_lower(bias_in);
  const char* op = "conv_transpose2d";
  const std::int64_t out_channels = check_operands(op, input, weight, bias, p.groups, /*transposed=*/true);
  check_window(op, p.stride, p.padding, p.dilation);
  EMBER_CHECK(weight.size(0) == input.size(1), "conv_transpose2d: weight of shape ", to_string(weight.sizes()),
              " expects ", weight.size(0), " input channels, but input of shape ", to_string(input.sizes()), " has ",
              input.size(1));
  Shape out_sizes{input.size(0), out_channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    // PyTorch's rule: output_padding only picks among the sizes a stride or dilation makes ambiguous.
    EMBER_CHECK(p.output_padding[i] >= 0 && (p.output_padding[i] < p.stride[i] || p.output_padding[i] < p.dilation[i]),
                "conv_transpose2d: output_padding ", p.output_padding[i], " must be smaller than the stride ",
                p.stride[i], " or the dilation ", p.dilation[i]);
    out_sizes[2 + i] = (input.size(2 + i) - 1) * p.stride[i] - 2 * p.padding[i] +
                       p.dilation[i] * (weight.size(2 + i) - 1) + p.output_padding[i] + 1;
    EMBER_CHECK(out_sizes[2 + i] >= 1, "conv_transpose2d: input of shape ", to_string(input.sizes()), " with weight ",
                to_string(weight.sizes()), " and padding ", p.padding[i], " gives an empty output");
  }
  // The convolution this op is the adjoint of runs over the output image and yields H x W.
  ConvGeometry g = geometry(out_sizes, weight, p.stride, p.padding, p.dilation);
  g.out_h = input.size(2);
  g.out_w = input.size(3);
  return convolution_adjoint(g, input, weight, bias, p.groups);
}

}  // namespace ember
