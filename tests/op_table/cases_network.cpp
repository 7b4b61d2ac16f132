// The ops networks are made of: matrix products, convolution, pooling, resampling,
// normalization and softmax (core/ops/linalg.h, conv.h, pool.h, resample.h, normalization.h,
// softmax.h).
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {

using Args = const std::vector<Tensor>&;

double gemm_flops(std::int64_t m, std::int64_t n, std::int64_t k) { return 2.0 * m * n * k; }

// 2 * (output elements) * (input channels per group) * KH * KW: one multiply-add per weight tap.
double conv_flops(const Tensor& output, const Tensor& weight) {
  return 2.0 * static_cast<double>(output.numel()) * weight.size(1) * weight.size(2) * weight.size(3);
}

}  // namespace

std::vector<OpCase> network_cases() {
  const std::vector<Input> image = {{.shape = {2, 3, 7, 6}}};
  const std::vector<Input> distinct_image = {{.shape = {2, 3, 7, 6}, .values = Values::ascending}};
  return {
      {.op = "matmul",
       .label = "batched [2, 3, 4] @ strided [4, 5]",
       .inputs = {{.shape = {2, 3, 4}}, {.shape = {4, 5}, .transposed = true}},
       .run = [](Args x) { return matmul(x[0], x[1]); },
       .perf_inputs = {{.shape = {2048, 2048}}, {.shape = {2048, 2048}}},
       .flops = [](Args x) { return gemm_flops(x[0].size(0), x[1].size(1), x[0].size(1)); }},
      {.op = "linear",
       .label = "3-D input with bias",
       .inputs = {{.shape = {2, 3, 4}}, {.shape = {5, 4}}, {.shape = {5}}},
       .run = [](Args x) { return linear(x[0], x[1], x[2]); },
       .perf_inputs = {{.shape = {4096, 1024}}, {.shape = {1024, 1024}}, {.shape = {1024}}},
       .flops = [](Args x) { return gemm_flops(x[0].size(0), x[1].size(0), x[0].size(1)); }},
      {.op = "conv2d",
       .label = "stride 2, padding, dilation, 2 groups, bias",
       .inputs = {{.shape = {2, 4, 7, 6}}, {.shape = {6, 2, 3, 3}}, {.shape = {6}}},
       .run = [](Args x) {
         return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2});
       }},
      {.op = "conv2d",
       .label = "padding same (an even kernel: extra bottom row, right column) filled by reflection",
       .inputs = {{.shape = {2, 2, 5, 6}}, {.shape = {3, 2, 2, 3}}, {.shape = {3}}},
       .run = [](Args x) {
         return conv2d(x[0], x[1], x[2], {.padding_rule = ConvPadding::same, .padding_mode = PadMode::reflect});
       }},
      {.op = "conv2d",
       .label = "replicated padding",
       .inputs = {{.shape = {2, 2, 5, 6}}, {.shape = {3, 2, 2, 3}}, {.shape = {3}}},
       .run = [](Args x) { return conv2d(x[0], x[1], x[2], {.padding = {1, 2}, .padding_mode = PadMode::replicate}); }},
      {.op = "conv2d",
       .label = "circular padding",
       .inputs = {{.shape = {2, 2, 5, 6}}, {.shape = {3, 2, 2, 3}}, {.shape = {3}}},
       .run = [](Args x) { return conv2d(x[0], x[1], x[2], {.padding = {1, 2}, .padding_mode = PadMode::circular}); }},
      {.op = "conv2d",
       .label = "3 x 3, padding 1, bias (the CNN's layers)",
       .inputs = {{.shape = {2, 3, 6, 5}}, {.shape = {4, 3, 3, 3}}, {.shape = {4}}},
       .run = [](Args x) { return conv2d(x[0], x[1], x[2], {.padding = {1, 1}}); },
       // The CNN's second layer at batch 64: 32 -> 64 channels, 13 x 13.
       .perf_inputs = {{.shape = {64, 32, 13, 13}}, {.shape = {64, 32, 3, 3}}, {.shape = {64}}},
       .flops = [](Args x) { return conv_flops(conv2d(x[0], x[1], x[2], {.padding = {1, 1}}), x[1]); }},
      {.op = "conv_transpose2d",
       .label = "stride 2 with output padding",
       .inputs = {{.shape = {2, 4, 4, 3}}, {.shape = {4, 3, 3, 3}}, {.shape = {3}}},
       .run = [](Args x) { return conv_transpose2d(x[0], x[1], x[2], {.stride = {2, 2}, .padding = {1, 1},
                                                                        .output_padding = {1, 0}}); }},
      {.op = "max_pool2d",
       .label = "3 x 3 windows, stride 2, padding 1",
       .inputs = distinct_image,
       .run = [](Args x) { return max_pool2d(x[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}); },
       .perf_inputs = {{.shape = {64, 32, 112, 112}}}},
      {.op = "max_pool2d",
       .label = "dilated, ceil_mode (partial last windows)",
       .inputs = distinct_image,
       .run = [](Args x) {
         return max_pool2d(x[0], {.kernel = {2, 3}, .stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 1},
                                  .ceil_mode = true});
       }},
      {.op = "max_pool2d_with_indices",
       .label = "the maxima and their flat indices",
       .inputs = distinct_image,
       .run = [](Args x) {
         const auto [pooled, indices] = max_pool2d_with_indices(x[0], {.kernel = {3, 2}, .stride = {2, 2}});
         return pooled + indices.to(pooled.dtype());
       }},
      {.op = "max_unpool2d",
       .label = "of max_pool2d's output and indices, to the original odd size",
       .inputs = distinct_image,
       .run = [](Args x) {
         const auto [pooled, indices] = max_pool2d_with_indices(x[0], {.kernel = {2, 2}});
         return max_unpool2d(pooled, indices, {.kernel = {2, 2}}, {7, 6});
       }},
      {.op = "avg_pool2d",
       .label = "2 x 3 windows with padding",
       .inputs = image,
       .run = [](Args x) { return avg_pool2d(x[0], {.kernel = {2, 3}, .stride = {2, 2}, .padding = {1, 1}}); }},
      {.op = "avg_pool2d",
       .label = "ceil_mode without count_include_pad, and divisor_override",
       .inputs = image,
       .run = [](Args x) {
         const Tensor partial = avg_pool2d(x[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
                                                  .ceil_mode = true, .count_include_pad = false});
         const Tensor fixed = avg_pool2d(x[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
                                                .ceil_mode = true, .divisor_override = 4});
         return partial + fixed;
       }},
      {.op = "adaptive_avg_pool2d",
       .label = "to a size that does not divide the input",
       .inputs = image,
       .run = [](Args x) { return adaptive_avg_pool2d(x[0], {3, 4}); }},
      {.op = "interpolate",
       .label = "nearest and bilinear (aligned and not) to other sizes",
       .inputs = image,
       .run = [](Args x) {
         const Tensor nearest = interpolate(x[0], {.size = {9, 4}});
         const Tensor bilinear = interpolate(x[0], {.size = {9, 4}, .mode = InterpolateMode::bilinear});
         const Tensor aligned =
             interpolate(x[0], {.size = {9, 4}, .mode = InterpolateMode::bilinear, .align_corners = true});
         return cat({nearest, bilinear, aligned}, 1);
       }},
      {.op = "layer_norm",
       .label = "over the last two dims, with weight and bias",
       .inputs = {{.shape = {3, 4, 5}}, {.shape = {4, 5}}, {.shape = {4, 5}}},
       .run = [](Args x) { return layer_norm(x[0], {4, 5}, x[1], x[2]); }},
      {.op = "layer_norm",
       .label = "over the last dim (a transformer's)",
       .inputs = {{.shape = {3, 8}}, {.shape = {8}}, {.shape = {8}}},
       .run = [](Args x) { return layer_norm(x[0], {x[0].size(-1)}, x[1], x[2]); },
       .perf_inputs = {{.shape = {8192, 1024}}, {.shape = {1024}}, {.shape = {1024}}}},
      {.op = "batch_norm",
       .label = "training with running statistics, and eval",
       .inputs = {{.shape = {4, 3, 2, 5}},
                  {.shape = {3}, .requires_grad = false},
                  {.shape = {3}, .values = Values::positive, .requires_grad = false},
                  {.shape = {3}},
                  {.shape = {3}}},
       .run = [](Args x) {
         // Training updates the running statistics in place: it gets copies, so every call (and
         // eval, which reads them) starts from the same statistics.
         const Tensor training = batch_norm(x[0], clone(x[1]), clone(x[2]), x[3], x[4], true);
         const Tensor eval = batch_norm(x[0], x[1], x[2], x[3], x[4], false);
         return cat({training, eval});
       }},
      {.op = "softmax",
       .label = "along a middle dim",
       .inputs = {{.shape = {3, 4, 5}}},
       .run = [](Args x) { return softmax(x[0], 1); },
       .perf_inputs = {{.shape = {8192, 1024}}}},
      {.op = "log_softmax",
       .label = "along the last dim of a strided input",
       .inputs = {{.shape = {4, 6}, .transposed = true}},
       .run = [](Args x) { return log_softmax(x[0], -1); }},
      {.op = "sigmoid_cross_entropy",
       .label = "soft targets in [0.25, 1)",
       .inputs = {{.shape = {3, 4}}, {.shape = {3, 4}, .values = Values::positive}},
       .run = [](Args x) { return sigmoid_cross_entropy(x[0], x[1] / 2.0); }},
      {.op = "softmax_cross_entropy",
       .label = "class weights, label smoothing, an ignored label",
       .inputs = {{.shape = {6, 4}},
                  {.shape = {6}, .values = Values::index, .range = 5},  // label 4 is ignored below
                  {.shape = {4}, .values = Values::positive, .requires_grad = false}},
       .run = [](Args x) {
         const Tensor labels = where(eq(x[1], 4.0), full_like(x[1], -100.0), x[1]);
         return softmax_cross_entropy(x[0], labels, x[2], -100, 0.1);
       },
       .perf_inputs = {{.shape = {8192, 1000}}, {.shape = {8192}, .values = Values::index, .range = 1000},
                       {.shape = {1000}, .values = Values::positive, .requires_grad = false}}},
  };
}

}  // namespace ember::op_table
