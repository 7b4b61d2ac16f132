#include "core/ops/conv.h"

#include "core/autocast.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "core/ops/view.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cuda/conv.h"

namespace ember {

using Grads = std::vector<Tensor>;
using kernels::cpu::ConvGeometry;
using kernels::MatrixRef;

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

// The geometry of the convolution whose *input* is the [N, C, H, W] image `image` of the given
// sizes (for conv_transpose2d that image is the output).
ConvGeometry geometry(const Shape& image, const Tensor& weight, const Pair& stride, const Pair& padding,
                      const Pair& dilation) {
  return {image[0], image[1], image[2], image[3], weight.size(2), weight.size(3), stride[0], stride[1],
          padding[0], padding[1], dilation[0], dilation[1], 0, 0};
}

// A weight [A, B, KH, KW] with `groups` groups is, per group g, the matrix
// W_g [A / groups, B * KH * KW]. The column matrices have one block of B * KH * KW rows per
// group, the channel matrices one block of A / groups rows.
struct GroupedWeight {
  Tensor w;  // contiguous
  std::int64_t groups;
  std::int64_t rows() const { return w.size(0) / groups; }
  std::int64_t depth() const { return w.numel() / w.size(0); }
};

const char* at_element(const Tensor& t, std::int64_t elements) {
  return static_cast<const char*>(t.data_ptr()) + elements * static_cast<std::int64_t>(size_of(t.dtype()));
}
char* at_element(Tensor& t, std::int64_t elements) {
  return static_cast<char*>(t.data_ptr()) + elements * static_cast<std::int64_t>(size_of(t.dtype()));
}

// C += A @ B for row-major or transposed operands given by pointer and strides (one GEMM).
void gemm_accumulate(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
                     const MatrixRef& b, void* c, std::int64_t c_row_stride) {
  kernels::cpu::gemm(dtype, 1, m, n, k, a, 0, b, 0, c, c_row_stride, 0, /*accumulate=*/true);
}

// channels[A, columns] += W_g @ cols_g for every group.
void weight_times(const GroupedWeight& gw, const Tensor& cols, Tensor& channels) {
  const std::int64_t rows = gw.rows(), depth = gw.depth(), columns = cols.size(1);
  for (std::int64_t g = 0; g < gw.groups; ++g) {
    gemm_accumulate(cols.dtype(), rows, columns, depth, {at_element(gw.w, g * rows * depth), depth, 1},
                    {at_element(cols, g * depth * columns), columns, 1}, at_element(channels, g * rows * columns),
                    columns);
  }
}

// cols[groups * depth, columns] += W_g^T @ channels_g for every group.
void weight_transposed_times(const GroupedWeight& gw, const Tensor& channels, Tensor& cols) {
  const std::int64_t rows = gw.rows(), depth = gw.depth(), columns = cols.size(1);
  for (std::int64_t g = 0; g < gw.groups; ++g) {
    gemm_accumulate(cols.dtype(), depth, columns, rows, {at_element(gw.w, g * rows * depth), 1, depth},
                    {at_element(channels, g * rows * columns), columns, 1}, at_element(cols, g * depth * columns),
                    columns);
  }
}

// grad_W_g += channels_g @ cols_g^T for every group: the weight gradient of both products above.
Tensor weight_gradient(const GroupedWeight& gw, const Tensor& channels, const Tensor& cols) {
  const std::int64_t rows = gw.rows(), depth = gw.depth(), columns = cols.size(1);
  Tensor grad = zeros(gw.w.sizes(), {.dtype = gw.w.dtype()});
  for (std::int64_t g = 0; g < gw.groups; ++g) {
    gemm_accumulate(cols.dtype(), rows, depth, columns, {at_element(channels, g * rows * columns), columns, 1},
                    {at_element(cols, g * depth * columns), 1, columns}, at_element(grad, g * rows * depth), depth);
  }
  return grad;
}

// [N, C, H, W] -> contiguous [C, N*H*W], the layout the GEMMs produce and consume, and back.
Tensor channel_matrix(const Tensor& image) {
  return image.permute({1, 0, 2, 3}).contiguous().view({image.size(1), image.numel() / image.size(1)});
}
Tensor image_from_channels(const Tensor& channels, std::int64_t batch, std::int64_t height, std::int64_t width) {
  return channels.view({channels.size(0), batch, height, width}).permute({1, 0, 2, 3}).contiguous();
}

Tensor im2col(const ConvGeometry& g, const Tensor& image) {
  const Tensor dense = image.contiguous();
  Tensor cols = empty({g.channels * g.kernel_h * g.kernel_w, g.batch * g.out_h * g.out_w}, {.dtype = image.dtype()});
  kernels::cpu::im2col(image.dtype(), g, dense.data_ptr(), cols.data_ptr());
  return cols;
}

// The image col2im builds from `cols`, starting from `start` (zero or a broadcast bias).
Tensor col2im(const ConvGeometry& g, const Tensor& cols, const Tensor& start) {
  Tensor image = empty({g.batch, g.channels, g.height, g.width}, {.dtype = cols.dtype()});
  if (start.defined()) {
    detail::copy_data(image, start);
  } else {
    zero_(image);
  }
  kernels::cpu::col2im(cols.dtype(), g, cols.data_ptr(), image.data_ptr());
  return image;
}

// --- CUDA: cuDNN computes the convolution's three products directly (no im2col) ---------------

Tensor cudnn_convolution_transpose(const ConvGeometry& g, const Tensor& output, const Tensor& weight,
                                   std::int64_t groups);

// d <conv(image, weight), output> / d weight, shaped like `weight`.
Tensor cudnn_weight_gradient(const ConvGeometry& g, const Tensor& image, const Tensor& output, const Tensor& weight,
                             std::int64_t groups) {
  Tensor grad = empty(weight.sizes(), {.dtype = weight.dtype(), .device = weight.device()});
  const Tensor dense_image = image.contiguous(), dense_output = output.contiguous();
  EMBER_CUDA_DISPATCH("conv2d", kernels::cuda::conv2d_backward_filter(grad.dtype(), g, weight.size(0), groups,
                                                                      dense_image.data_ptr(), dense_output.data_ptr(),
                                                                      grad.data_ptr()));
  return grad;
}

// conv(image, weight) over `g`: [N, OC, OH, OW]. Its image gradient is the transposed
// convolution of the output gradient, and the other way round, so each records the other.
Tensor cudnn_convolution(const ConvGeometry& g, const Tensor& image, const Tensor& weight, std::int64_t groups) {
  Tensor out = empty({g.batch, weight.size(0), g.out_h, g.out_w}, {.dtype = image.dtype(), .device = image.device()});
  const Tensor dense_image = image.contiguous(), dense_weight = weight.contiguous();
  EMBER_CUDA_DISPATCH("conv2d", kernels::cuda::conv2d_forward(out.dtype(), g, weight.size(0), groups,
                                                              dense_image.data_ptr(), dense_weight.data_ptr(),
                                                              out.data_ptr()));
  if (detail::needs_grad(image, weight)) {
    record_op("conv2d", out, {image, weight}, [g, image, weight, groups](const Tensor& grad, const Node& node) {
      return Grads{node.needs_input_grad(0) ? cudnn_convolution_transpose(g, grad, weight, groups) : Tensor(),
                   node.needs_input_grad(1) ? cudnn_weight_gradient(g, image, grad, weight, groups) : Tensor()};
    });
  }
  return out;
}

// The adjoint of cudnn_convolution in the image: [N, C, H, W] from an output-shaped tensor.
Tensor cudnn_convolution_transpose(const ConvGeometry& g, const Tensor& output, const Tensor& weight,
                                   std::int64_t groups) {
  Tensor image = empty({g.batch, g.channels, g.height, g.width}, {.dtype = output.dtype(), .device = output.device()});
  const Tensor dense_output = output.contiguous(), dense_weight = weight.contiguous();
  EMBER_CUDA_DISPATCH("conv_transpose2d",
                      kernels::cuda::conv2d_backward_data(image.dtype(), g, weight.size(0), groups,
                                                          dense_weight.data_ptr(), dense_output.data_ptr(),
                                                          image.data_ptr()));
  if (detail::needs_grad(output, weight)) {
    record_op("conv_transpose2d", image, {output, weight},
              [g, output, weight, groups](const Tensor& grad, const Node& node) {
                return Grads{node.needs_input_grad(0) ? cudnn_convolution(g, grad, weight, groups) : Tensor(),
                             node.needs_input_grad(1) ? cudnn_weight_gradient(g, grad, output, weight, groups)
                                                      : Tensor()};
              });
  }
  return image;
}

// Adds a bias [C] to every position of an [N, C, H, W] result (differentiable).
Tensor add_channel_bias(const Tensor& result, const Tensor& bias) {
  return bias.defined() ? add(result, bias.view({1, bias.size(0), 1, 1})) : result;
}

}  // namespace

Tensor conv2d(const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in, const Conv2dParams& p) {
  const Tensor input = detail::autocast_lower(input_in), weight = detail::autocast_lower(weight_in),
               bias = detail::autocast_lower(bias_in);
  const char* op = "conv2d";
  const std::int64_t out_channels = check_operands(op, input, weight, bias, p.groups, /*transposed=*/false);
  check_window(op, p.stride, p.padding, p.dilation);
  EMBER_CHECK(weight.size(1) * p.groups == input.size(1), "conv2d: weight of shape ", to_string(weight.sizes()),
              " expects ", weight.size(1) * p.groups, " input channels, but input of shape ", to_string(input.sizes()),
              " has ", input.size(1));
  ConvGeometry g = geometry(input.sizes(), weight, p.stride, p.padding, p.dilation);
  // The padded input must hold one dilated window (checked before dividing: C++ division
  // truncates a negative span towards zero).
  const std::int64_t span_h = g.height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1;
  const std::int64_t span_w = g.width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1;
  EMBER_CHECK(span_h >= 0 && span_w >= 0, "conv2d: input of shape ", to_string(input.sizes()), " is smaller than the ",
              g.kernel_h, "x", g.kernel_w, " kernel (with padding ", g.pad_h, "x", g.pad_w, " and dilation ",
              g.dilation_h, "x", g.dilation_w, ")");
  g.out_h = span_h / g.stride_h + 1;
  g.out_w = span_w / g.stride_w + 1;
  if (input.device().is_cuda()) return add_channel_bias(cudnn_convolution(g, input, weight, p.groups), bias);

  const GroupedWeight gw{weight.contiguous(), p.groups};
  const Tensor cols = im2col(g, input);
  // out[OC, N*OH*OW] starts at the bias (or zero); each group's GEMM accumulates onto it.
  Tensor out = empty({out_channels, cols.size(1)}, {.dtype = input.dtype()});
  if (bias.defined()) {
    detail::copy_data(out, bias.detach().unsqueeze(1).expand(out.sizes()));
  } else {
    zero_(out);
  }
  weight_times(gw, cols, out);
  Tensor result = image_from_channels(out, g.batch, g.out_h, g.out_w);

  if (detail::needs_grad(input, weight, bias)) {
    record_op(op, result, {input, weight, bias}, [cols, gw, g](const Tensor& grad, const Node& node) {
      const Tensor grad_channels = channel_matrix(grad);  // [OC, N*OH*OW], as the forward made it
      Tensor grad_input, grad_weight, grad_bias;
      if (node.needs_input_grad(0)) {
        // d cols = W^T @ d out, scattered back onto the image by col2im.
        Tensor grad_cols = zeros(cols.sizes(), {.dtype = grad.dtype()});
        weight_transposed_times(gw, grad_channels, grad_cols);
        grad_input = col2im(g, grad_cols, {});
      }
      if (node.needs_input_grad(1)) grad_weight = weight_gradient(gw, grad_channels, cols);
      if (node.needs_input_grad(2)) grad_bias = sum(grad_channels, {1});
      return Grads{grad_input, grad_weight, grad_bias};
    });
  }
  return result;
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
  if (input.device().is_cuda()) {
    return add_channel_bias(cudnn_convolution_transpose(g, input, weight, p.groups), bias);
  }

  const GroupedWeight gw{weight.contiguous(), p.groups};
  const Tensor input_channels = channel_matrix(input);  // [C, N*H*W]
  Tensor cols = zeros({g.channels * g.kernel_h * g.kernel_w, input_channels.size(1)}, {.dtype = input.dtype()});
  weight_transposed_times(gw, input_channels, cols);
  const Tensor start = bias.defined() ? bias.detach().view({1, out_channels, 1, 1}).expand(out_sizes) : Tensor{};
  Tensor result = col2im(g, cols, start);

  if (detail::needs_grad(input, weight, bias)) {
    record_op(op, result, {input, weight, bias}, [input_channels, gw, g](const Tensor& grad, const Node& node) {
      const Tensor grad_cols = im2col(g, grad);
      Tensor grad_input, grad_weight, grad_bias;
      if (node.needs_input_grad(0)) {
        // d input = W @ im2col(d out): the forward of conv2d.
        Tensor grad_channels = zeros(input_channels.sizes(), {.dtype = grad.dtype()});
        weight_times(gw, grad_cols, grad_channels);
        grad_input = image_from_channels(grad_channels, g.batch, g.out_h, g.out_w);
      }
      if (node.needs_input_grad(1)) grad_weight = weight_gradient(gw, input_channels, grad_cols);
      if (node.needs_input_grad(2)) grad_bias = sum(grad, {0, 2, 3});
      return Grads{grad_input, grad_weight, grad_bias};
    });
  }
  return result;
}

}  // namespace ember
