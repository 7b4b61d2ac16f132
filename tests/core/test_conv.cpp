// conv2d and conv_transpose2d: cases by hand, an f64 reference for every parameter, and gradients.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Calls product(out, in, w) for every product of the definition of a (grouped, strided,
// padded, dilated) 2-D cross-correlation: output element `out` (row-major [N, OC, OH, OW]) adds
// x[in] * w[w] (row-major indices of the input and the weight).
template <class Product>
void for_each_product(const Shape& x, const Shape& w, const Conv2dParams& p, std::int64_t out_h, std::int64_t out_w,
                      Product&& product) {
  const std::int64_t n = x[0], c = x[1], h = x[2], width = x[3];
  const std::int64_t oc = w[0], cg = w[1], kh = w[2], kw = w[3];
  const std::int64_t per_group_out = oc / p.groups;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t o = 0; o < oc; ++o)
      for (std::int64_t y = 0; y < out_h; ++y)
        for (std::int64_t z = 0; z < out_w; ++z) {
          const std::int64_t group = o / per_group_out;
          for (std::int64_t ci = 0; ci < cg; ++ci)
            for (std::int64_t a = 0; a < kh; ++a)
              for (std::int64_t d = 0; d < kw; ++d) {
                const std::int64_t iy = y * p.stride[0] - p.padding[0] + a * p.dilation[0];
                const std::int64_t iz = z * p.stride[1] - p.padding[1] + d * p.dilation[1];
                if (iy < 0 || iy >= h || iz < 0 || iz >= width) continue;
                product(static_cast<std::size_t>(((i * oc + o) * out_h + y) * out_w + z),
                        static_cast<std::size_t>(((i * c + group * cg + ci) * h + iy) * width + iz),
                        static_cast<std::size_t>(((o * cg + ci) * kh + a) * kw + d));
              }
        }
}

// values [N, C, H, W] (row-major, `positions` = H * W) += the bias [C] at every position.
void add_bias(std::vector<double>& values, const Tensor& bias, std::int64_t positions) {
  const std::vector<double> bs = bias.to_vector<double>();
  for (std::size_t e = 0; e < values.size(); ++e) values[e] += bs[e / static_cast<std::size_t>(positions) % bs.size()];
}

// The convolution by its definition, in f64.
std::vector<double> reference_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                                   std::int64_t out_h, std::int64_t out_w) {
  const std::vector<double> xs = x.to_vector<double>(), ws = w.to_vector<double>();
  std::vector<double> out(static_cast<std::size_t>(x.size(0) * w.size(0) * out_h * out_w));
  if (b.defined()) add_bias(out, b, out_h * out_w);
  for_each_product(x.sizes(), w.sizes(), p, out_h, out_w,
                   [&](std::size_t o, std::size_t i, std::size_t k) { out[o] += xs[i] * ws[k]; });
  return out;
}

}  // namespace

TEST_CASE("conv2d by hand: a 2x2 kernel over a 3x3 image") {
  const Tensor x = arange(1, 10, 1, {.dtype = DType::f32}).view({1, 1, 3, 3});  // 1..9
  const Tensor w = from_vector<float>({1, 0, 0, -1}, {1, 1, 2, 2});             // top-left minus bottom-right
  // Each output is x[i][j] - x[i+1][j+1] = -4 everywhere; the bias adds 0.5.
  check_values(conv2d(x, w, from_vector<float>({0.5})), {-3.5, -3.5, -3.5, -3.5});
}

TEST_CASE("conv2d matches the f64 definition for stride + padding + dilation + groups") {
  Generator generator(9);
  const Tensor x = randn({2, 4, 7, 6}, {.dtype = DType::f64}, generator);
  const Tensor w = randn({6, 2, 3, 2}, {.dtype = DType::f64}, generator);
  const Tensor b = randn({6}, {.dtype = DType::f64}, generator);
  const Conv2dParams p{.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2};
  const Tensor out = conv2d(x, w, b, p);
  // OH = (7 + 2 - 2 - 1) / 2 + 1 = 4; OW = (6 + 4 - 2 - 1) / 1 + 1 = 8.
  CHECK(out.sizes() == Shape{2, 6, 4, 8});
  check_values(out, reference_conv(x, w, b, p, 4, 8), 1e-12);
  check_values(conv2d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), p), reference_conv(x, w, b, p, 4, 8), 1e-5);
}

TEST_CASE("conv2d's forward paths match the f64 definition: chunks cut mid-row, wide taps, odd depth in bf16") {
  // The CPU forward in f32 gathers each chunk of output positions straight into the GEMM's panels:
  // on AVX-512 through a padded window of the chunk's rows (two threads cut a 5 x 300 output in the
  // middle of a row), and element by element where the taps span too many columns for that window
  // (3 taps 9 apart: 19). bf16 goes through a column matrix and the dot-product kernel, whose depth
  // pairs pad an odd depth (3 channels x 3 x 3 = 27).
  Generator generator(11);
  const Tensor x = randn({1, 3, 5, 300}, {.dtype = DType::f64}, generator);
  const Tensor w = randn({7, 3, 3, 3}, {.dtype = DType::f64}, generator);
  const Conv2dParams padded{.padding = {1, 1}};
  const Conv2dParams wide{.padding = {1, 9}, .dilation = {1, 9}};
  check_values(conv2d(x.to(DType::f32), w.to(DType::f32), {}, padded), reference_conv(x, w, {}, padded, 5, 300), 1e-5);
  check_values(conv2d(x.to(DType::f32), w.to(DType::f32), {}, wide), reference_conv(x, w, {}, wide, 5, 300), 1e-5);
  // bf16 operands, f32 sums, one rounding: within a few bf16 ulps of |sum| <= ~15.
  const Tensor xb = x.to(DType::bf16), wb = w.to(DType::bf16);
  check_values(conv2d(xb, wb, {}, padded).to(DType::f64),
               reference_conv(xb.to(DType::f64), wb.to(DType::f64), {}, padded, 5, 300), 2e-2);
}

TEST_CASE("conv2d padding modes by hand: a 1x3 kernel of ones over the row 1 2 3") {
  // With one column of padding each side the row reads: zeros 0 1 2 3 0, reflect 2 1 2 3 2,
  // replicate 1 1 2 3 3, circular 3 1 2 3 1; each output is the sum of three neighbours.
  const Tensor x = from_vector<float>({1, 2, 3}, {1, 1, 1, 3});
  const Tensor w = ones({1, 1, 1, 3});
  const Conv2dParams p{.padding = {0, 1}};
  check_values(conv2d(x, w, {}, p), {3, 6, 5});
  check_values(conv2d(x, w, {}, {.padding = {0, 1}, .padding_mode = PadMode::reflect}), {5, 6, 7});
  check_values(conv2d(x, w, {}, {.padding = {0, 1}, .padding_mode = PadMode::replicate}), {4, 6, 8});
  check_values(conv2d(x, w, {}, {.padding = {0, 1}, .padding_mode = PadMode::circular}), {6, 6, 6});
}

TEST_CASE("conv2d padding same keeps the size, with the odd extra row and column at the bottom and right") {
  Generator generator(10);
  const Tensor x = randn({1, 2, 5, 6}, {.dtype = DType::f64}, generator);
  const Tensor odd = randn({3, 2, 3, 5}, {.dtype = DType::f64}, generator);
  const Tensor even = randn({3, 2, 2, 4}, {.dtype = DType::f64}, generator);
  // An odd kernel: padding (K - 1) / 2 each side; with dilation 2, twice that.
  check_values(conv2d(x, odd, {}, {.padding_rule = ConvPadding::same}), conv2d(x, odd, {}, {.padding = {1, 2}}).to_vector<double>(), 1e-12);
  const Tensor dilated = conv2d(x, odd, {}, {.dilation = {2, 1}, .padding_rule = ConvPadding::same});
  CHECK(dilated.sizes() == Shape{1, 3, 5, 6});
  check_values(dilated, conv2d(x, odd, {}, {.padding = {2, 2}, .dilation = {2, 1}}).to_vector<double>(), 1e-12);
  // An even kernel 2 x 4: totals 1 and 3, so rows get 0 before and 1 after, columns 1 and 2. The
  // reference pads by hand: PyTorch's F.conv2d(padding="same") puts the extra on those sides.
  const Tensor same = conv2d(x, even, {}, {.padding_rule = ConvPadding::same});
  CHECK(same.sizes() == Shape{1, 3, 5, 6});
  check_values(same, conv2d(pad(x, {1, 2, 0, 1}), even).to_vector<double>(), 1e-12);
  // Reflection with "same": the same padding, filled by pad(reflect).
  check_values(conv2d(x, even, {}, {.padding_rule = ConvPadding::same, .padding_mode = PadMode::reflect}),
               conv2d(pad(x, {1, 2, 0, 1}, PadMode::reflect), even).to_vector<double>(), 1e-12);
  // "valid" is no padding at all.
  check_values(conv2d(x, odd, {}, {.padding_rule = ConvPadding::valid}), conv2d(x, odd).to_vector<double>(), 1e-12);
}

TEST_CASE("conv2d errors name the shapes") {
  CHECK(contains(error_of([] { conv2d(zeros({1, 3, 5, 5}), zeros({4, 2, 3, 3})); }),
                 "weight of shape [4, 2, 3, 3] expects 2 input channels, but input of shape [1, 3, 5, 5] has 3"));
  CHECK(contains(error_of([] { conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 3})); }),
                 "input of shape [1, 1, 2, 2] is smaller than the 3x3 kernel"));
  // With stride 2 the span (2 - 3) / 2 would truncate to 0 and wrongly give one output.
  CHECK(contains(error_of([] { conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 3}), {}, {.stride = {2, 2}}); }),
                 "is smaller than the 3x3 kernel"));
  CHECK(contains(error_of([] { conv2d(zeros({1, 4, 5}), zeros({1, 4, 3, 3})); }), "expected input [N, C, H, W]"));
  CHECK(contains(error_of([] { conv2d(zeros({1, 4, 5, 5}), zeros({3, 2, 3, 3}), {}, {.groups = 2}); }),
                 "groups 2 must divide"));
  CHECK(contains(error_of([] {
          conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), {}, {.stride = {2, 1}, .padding_rule = ConvPadding::same});
        }), "conv2d: padding \"same\" needs stride 1 (as in PyTorch), got stride 2x1"));
  CHECK(contains(error_of([] {
          conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), {}, {.padding = {1, 1}, .padding_rule = ConvPadding::valid});
        }), "padding sizes 1x1 given with padding rule valid"));
  CHECK(contains(error_of([] {
          conv2d(zeros({1, 1, 2, 5}), zeros({1, 1, 3, 3}), {}, {.padding = {2, 1}, .padding_mode = PadMode::reflect});
        }), "pad: reflect padding of 2 and 2 does not fit dim 2 of size 2"));
}

TEST_CASE("gradcheck: conv2d with every parameter") {
  CHECK(gradcheck([](const Inputs& in) { return conv2d(in[0], in[1], in[2]); },
                  {leaf({2, 2, 4, 4}, 81), leaf({3, 2, 3, 3}, 82), leaf({3}, 83)}));
  CHECK(gradcheck([](const Inputs& in) {
          return conv2d(in[0], in[1], {}, {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}, .groups = 2});
        }, {leaf({1, 4, 5, 5}, 84), leaf({2, 2, 2, 2}, 85)}));
  for (PadMode mode : {PadMode::reflect, PadMode::replicate, PadMode::circular}) {
    CAPTURE(to_string(mode));
    CHECK(gradcheck([mode](const Inputs& in) {
            return conv2d(in[0], in[1], in[2], {.stride = {1, 2}, .padding = {1, 2}, .padding_mode = mode});
          }, {leaf({1, 2, 4, 5}, 88), leaf({2, 2, 3, 3}, 89), leaf({2}, 90)}));
  }
  CHECK(gradcheck([](const Inputs& in) { return conv2d(in[0], in[1], {}, {.padding_rule = ConvPadding::same}); },
                  {leaf({1, 2, 4, 5}, 91), leaf({2, 2, 2, 3}, 92)}));
  // A strided (channels-last-like) input.
  CHECK(gradcheck([](const Inputs& in) { return conv2d(in[0].permute({0, 3, 1, 2}), in[1]); },
                  {leaf({1, 4, 4, 2}, 86), leaf({1, 2, 2, 2}, 87)}));
}

TEST_CASE("conv_transpose2d by hand: stride 2 spreads each pixel over a 2x2 block") {
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});
  const Tensor w = from_vector<float>({1, 10, 100, 1000}, {1, 1, 2, 2});
  // out[2i + a][2j + b] = x[i][j] * w[a][b]; output 4x4, plus the bias 0.5.
  const Tensor out = conv_transpose2d(x, w, from_vector<float>({0.5}), {.stride = {2, 2}});
  CHECK(out.sizes() == Shape{1, 1, 4, 4});
  check_values(out, {1.5,   10.5,   2.5,    20.5,     //
                     100.5, 1000.5, 200.5,  2000.5,   //
                     3.5,   30.5,   4.5,    40.5,     //
                     300.5, 3000.5, 400.5,  4000.5});
  // Stride 1: overlapping blocks add up; the centre of a 3x3 output sees all four products.
  const Tensor ones = from_vector<float>({1, 1, 1, 1}, {1, 1, 2, 2});
  check_values(conv_transpose2d(x, ones), {1, 3, 2, 4, 10, 6, 3, 7, 4});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d: <convT(x) and y> == <x and conv(y)>") {
  // The defining identity, exact in f64 up to rounding, for every parameter at once.
  Generator generator(21);
  const ConvTranspose2dParams pt{.stride = {2, 3}, .padding = {1, 0}, .output_padding = {1, 2},
                                 .dilation = {1, 2}, .groups = 2};
  const Conv2dParams pc{.stride = {2, 3}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2};
  const Tensor x = randn({2, 4, 4, 3}, {.dtype = DType::f64}, generator);
  const Tensor w = randn({4, 3, 3, 2}, {.dtype = DType::f64}, generator);  // [C, OC/groups, KH, KW]
  const Tensor out = conv_transpose2d(x, w, {}, pt);
  // OH = (4 - 1) 2 - 2 + 1 (3 - 1) + 1 + 1 = 8; OW = (3 - 1) 3 - 0 + 2 (2 - 1) + 2 + 1 = 11.
  CHECK(out.sizes() == Shape{2, 6, 8, 11});
  const Tensor y = randn(out.sizes(), {.dtype = DType::f64}, generator);
  const Tensor back = conv2d(y, w, {}, pc);
  REQUIRE(back.sizes() == x.sizes());
  CHECK(sum(out * y).item<double>() == doctest::Approx(sum(x * back).item<double>()).epsilon(1e-12));
}

TEST_CASE("conv_transpose2d errors") {
  CHECK(contains(error_of([] { conv_transpose2d(zeros({1, 3, 5, 5}), zeros({2, 4, 3, 3})); }),
                 "weight of shape [2, 4, 3, 3] expects 2 input channels, but input of shape [1, 3, 5, 5] has 3"));
  CHECK(contains(error_of([] { conv_transpose2d(zeros({1, 2, 5, 5}), zeros({2, 4, 3, 3}), {}, {.output_padding = {1, 0}}); }),
                 "output_padding 1 must be smaller than the stride 1 or the dilation 1"));
  CHECK(contains(error_of([] { conv_transpose2d(zeros({1, 2, 1, 1}), zeros({2, 4, 1, 1}), {}, {.padding = {1, 1}}); }),
                 "gives an empty output"));
  CHECK(contains(error_of([] { conv_transpose2d(zeros({1, 2, 3, 3}), zeros({2, 4, 3, 3}), zeros({3})); }),
                 "bias of shape [3] does not match 4 output channels"));
}

TEST_CASE("gradcheck: conv_transpose2d with every parameter") {
  CHECK(gradcheck([](const Inputs& in) { return conv_transpose2d(in[0], in[1], in[2]); },
                  {leaf({2, 2, 3, 3}, 91), leaf({2, 3, 2, 2}, 92), leaf({3}, 93)}));
  CHECK(gradcheck([](const Inputs& in) {
          return conv_transpose2d(in[0], in[1], in[2], {.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0},
                                                        .dilation = {1, 2}, .groups = 2});
        }, {leaf({1, 4, 3, 3}, 94), leaf({4, 1, 3, 2}, 95), leaf({2}, 96)}));
}

namespace {

// The gradients of <conv(x, w), dy> by their definition, in f64: dx[n, c, iy, iz] and
// dw[o, ci, a, d] both sum dy[n, o, y, z] times the other factor of every product that reads them.
struct ReferenceGradients {
  std::vector<double> input, weight;
};

ReferenceGradients reference_gradients(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p) {
  const std::vector<double> xs = x.to_vector<double>(), ws = w.to_vector<double>(), dys = dy.to_vector<double>();
  ReferenceGradients grads{std::vector<double>(xs.size()), std::vector<double>(ws.size())};
  for_each_product(x.sizes(), w.sizes(), p, dy.size(2), dy.size(3), [&](std::size_t o, std::size_t i, std::size_t k) {
    grads.input[i] += dys[o] * ws[k];
    grads.weight[k] += dys[o] * xs[i];
  });
  return grads;
}

// The bias gradient by its definition: dy [N, C, H, W] summed over all but the channels.
std::vector<double> reference_bias_gradient(const Tensor& dy) {
  const std::vector<double> dys = dy.to_vector<double>();
  std::vector<double> grad(static_cast<std::size_t>(dy.size(1)));
  const auto per_channel = static_cast<std::size_t>(dy.size(2) * dy.size(3));
  for (std::size_t e = 0; e < dys.size(); ++e) grad[e / per_channel % grad.size()] += dys[e];
  return grad;
}

// conv2d's output and gradients in `dtype` on `threads` threads against the f64 definitions,
// without a bias and with one (where the output starts and the kernel accumulates onto it).
void check_conv_against_reference(const Shape& x_shape, const Shape& w_shape, const Conv2dParams& p, DType dtype,
                                  int threads, double tolerance) {
  for (const bool with_bias : {false, true}) {
    CAPTURE(with_bias);
    Generator generator(31);
    const Tensor x64 = randn(x_shape, {.dtype = DType::f64}, generator);
    const Tensor w64 = randn(w_shape, {.dtype = DType::f64}, generator);
    const Tensor b64 = with_bias ? randn({w_shape[0]}, {.dtype = DType::f64}, generator) : Tensor();
    const int before = get_num_threads();
    set_num_threads(threads);
    const Tensor x = x64.to(dtype).set_requires_grad(true), w = w64.to(dtype).set_requires_grad(true);
    const Tensor b = with_bias ? b64.to(dtype).set_requires_grad(true) : Tensor();
    const Tensor out = conv2d(x, w, b, p);
    const Tensor dy64 = randn(out.sizes(), {.dtype = DType::f64}, generator);
    out.backward(dy64.to(dtype));
    set_num_threads(before);
    // The reference sees the values the low-precision run saw.
    const Tensor xr = x.detach().to(DType::f64), wr = w.detach().to(DType::f64), dyr = dy64.to(dtype).to(DType::f64);
    const Tensor br = with_bias ? b.detach().to(DType::f64) : Tensor();
    check_values(out, reference_conv(xr, wr, br, p, out.size(2), out.size(3)), tolerance);
    const ReferenceGradients grads = reference_gradients(xr, wr, dyr, p);
    check_values(x.grad(), grads.input, tolerance);
    check_values(w.grad(), grads.weight, tolerance);
    if (with_bias) check_values(b.grad(), reference_bias_gradient(dyr), tolerance);
  }
}

// conv_transpose2d(x, w, b) on `threads` threads against the definitions: it is the adjoint of
// the convolution `p` from images of `image_shape` to x's shape, so its output is that
// convolution's input gradient for dy = x, plus the bias; its input gradient is the convolution
// of its output gradient, and its weight gradient the convolution's with image and dy swapped.
void check_conv_transpose_against_reference(const Shape& image_shape, const Shape& w_shape, const Conv2dParams& p,
                                            DType dtype, int threads, double tolerance) {
  Generator generator(37);
  const Tensor image64 = randn(image_shape, {.dtype = DType::f64}, generator);
  const Shape x_shape = conv2d(image64, randn(w_shape, {.dtype = DType::f64}, generator), {}, p).sizes();
  ConvTranspose2dParams pt{.stride = p.stride, .padding = p.padding, .dilation = p.dilation, .groups = p.groups};
  for (int i = 0; i < 2; ++i) {  // the output padding that gives back the image's size
    pt.output_padding[i] = image_shape[2 + i] - ((x_shape[2 + i] - 1) * p.stride[i] - 2 * p.padding[i] +
                                                 p.dilation[i] * (w_shape[2 + i] - 1) + 1);
  }
  const Tensor x = randn(x_shape, {.dtype = DType::f64}, generator).to(dtype).set_requires_grad(true);
  const Tensor w = randn(w_shape, {.dtype = DType::f64}, generator).to(dtype).set_requires_grad(true);
  const Tensor b = randn({w_shape[1] * p.groups}, {.dtype = DType::f64}, generator).to(dtype).set_requires_grad(true);
  const int before = get_num_threads();
  set_num_threads(threads);
  const Tensor out = conv_transpose2d(x, w, b, pt);
  REQUIRE(out.sizes() == image_shape);
  const Tensor dy = randn(image_shape, {.dtype = DType::f64}, generator).to(dtype);
  out.backward(dy);
  set_num_threads(before);
  const Tensor xr = x.detach().to(DType::f64), wr = w.detach().to(DType::f64), br = b.detach().to(DType::f64),
               dyr = dy.to(DType::f64);
  ReferenceGradients adjoint = reference_gradients(dyr, wr, xr, p);  // of the convolution from images to x
  add_bias(adjoint.input, br, image_shape[2] * image_shape[3]);
  check_values(out, adjoint.input, tolerance);
  check_values(x.grad(), reference_conv(dyr, wr, {}, p, x_shape[2], x_shape[3]), tolerance);
  check_values(w.grad(), adjoint.weight, tolerance);
  check_values(b.grad(), reference_bias_gradient(dyr), tolerance);
}

}  // namespace

TEST_CASE("conv2d and its gradients match the definitions on images cut into many chunks, on 2 threads") {
  // 3 x 40 x 260 per image: the column matrix of one image (27 rows x 10,400 positions in f64)
  // is over the kernel's 2 MB buffer, so each image is cut into chunks, and the two threads
  // share the chunks of both images. Stride 1 with no more output than input channels computes
  // the input gradient as a convolution; more output channels (fewer columns to scatter) and
  // stride 2 scatter columns; a 1x1 kernel reads the image as its own column matrix.
  check_conv_against_reference({2, 4, 40, 260}, {3, 4, 3, 3}, {.padding = {1, 1}}, DType::f64, 2, 1e-10);
  check_conv_against_reference({2, 3, 40, 260}, {4, 3, 3, 3}, {.padding = {1, 1}}, DType::f64, 2, 1e-10);
  check_conv_against_reference({2, 3, 40, 260}, {4, 3, 3, 3}, {.stride = {2, 2}, .padding = {1, 0}}, DType::f64, 2,
                               1e-10);
  check_conv_against_reference({1, 4, 40, 260}, {6, 2, 1, 1}, {.groups = 2}, DType::f64, 2, 1e-10);
  // One image on 2 threads: its chunks split between them, and (stride 2) one thread scatters.
  check_conv_against_reference({1, 3, 50, 260}, {2, 3, 3, 2}, {.stride = {2, 1}, .dilation = {2, 1}}, DType::f64, 2,
                               1e-10);
  // On 1 thread the image is one chunk of whole output rows (the copy-per-row im2col), with
  // vertical stride, dilation and padding.
  check_conv_against_reference({1, 3, 50, 260}, {2, 3, 3, 2}, {.stride = {2, 1}, .padding = {2, 1}, .dilation = {2, 1}},
                               DType::f64, 1, 1e-10);
}

TEST_CASE("conv2d's f32 and bf16 gradients match the definitions on every path: panels, rows, chunks cut mid-row") {
  // In f32 the forward reads the panels of 32 positions in one output row in place from the
  // window of input rows and gathers the others (a row's last 4 of 260, panels across two rows);
  // the weight gradient multiplies dy by the transposed columns, made from the forward's panels
  // (16 x 16 blocks transposed on AVX-512; the odd depth 27 and 2 x 9 leave partial blocks).
  // With more output than input channels the input gradient computes columns W^T @ dy in whole
  // tiles and, for a horizontal stride of 1 on AVX-512, adds them to the image input row by input
  // row: a single image on 2 threads is cut in the middle of an output row; a vertical stride and
  // a dilation skip taps; a horizontal stride of 2 adds them element by element.
  check_conv_against_reference({1, 3, 50, 260}, {5, 3, 3, 3}, {.padding = {1, 1}}, DType::f32, 2, 1e-4);
  check_conv_against_reference({2, 4, 17, 23}, {6, 2, 3, 3},
                               {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2}, DType::f32, 2,
                               1e-4);
  check_conv_against_reference({2, 3, 11, 13}, {4, 3, 3, 3}, {.stride = {2, 2}}, DType::f32, 1, 1e-4);
  check_conv_against_reference({2, 6, 9, 45}, {4, 3, 1, 1}, {.groups = 2}, DType::f32, 2, 1e-4);
  check_conv_against_reference({0, 3, 5, 5}, {4, 3, 3, 3}, {}, DType::f32, 2, 1e-4);  // an empty batch: empty results
  // bf16 with the dot-product instructions takes the same paths with depth pairs (the forward
  // gathers pairs of taps from a window of bf16 words; 27 and 18 taps are odd and even), sums in
  // f32 and rounds each result once: within 2^-9 of it, here 1e-2 of max(1, |value|).
  check_conv_against_reference({1, 3, 50, 260}, {5, 3, 3, 3}, {.padding = {1, 1}}, DType::bf16, 2, 1e-2);
  // A depth of at least a panel (5 x 3 x 3 = 45) takes the weight gradient's pair panels too:
  // position pairs from an odd 13 x 41 = 533 positions, cut between the threads mid-row.
  check_conv_against_reference({1, 5, 13, 41}, {6, 5, 3, 3}, {.padding = {1, 1}}, DType::bf16, 2, 1e-2);
  // Taps 9 apart span more columns than the window pattern holds: the element-by-element panels
  // (f32, and the weight gradient of bf16) and the column matrix (the bf16 forward).
  const Conv2dParams wide{.padding = {1, 9}, .dilation = {1, 9}};
  check_conv_against_reference({1, 4, 6, 60}, {5, 4, 3, 3}, wide, DType::f32, 2, 1e-4);
  check_conv_against_reference({1, 4, 6, 60}, {5, 4, 3, 3}, wide, DType::bf16, 2, 1e-2);
  check_conv_against_reference({2, 4, 17, 23}, {6, 2, 3, 3},
                               {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2}, DType::bf16, 2,
                               1e-2);
}

TEST_CASE("conv2d's f32 forward computed directly from the window matches the definition") {
  // On AVX-512 with strides of 1 and at least 16 output channels per group, the outputs of
  // consecutive window coordinates (across row ends, whose junk columns are dropped) are summed
  // in register tiles and stored into the output, or added onto the bias.
  // Row tiles (8 output channels by 3, 2 or 1 vectors of 16 coordinates, each vector's real
  // outputs packed together): 40 channels (5 blocks) with wide padding and a vertical dilation,
  // 12 vectors an image; 24 channels with a 3 x 2 kernel, one image cut into two chunks of 2
  // output rows (7 vectors: tiles of 3, 3 and 1), whose input gradient is itself a direct
  // convolution of 40 output channels (10 vectors a chunk); 16 channels on rows of 5 outputs in 7
  // columns (a vector spans 3 output rows; 2 vectors a chunk); 19 channels per group in 2 groups
  // (blocks of 8, 8 and 3; 20 vectors an image: a last tile of 2).
  check_conv_against_reference({2, 5, 9, 23}, {40, 5, 3, 3}, {.padding = {1, 2}, .dilation = {2, 1}}, DType::f32, 2,
                               1e-4);
  check_conv_against_reference({1, 40, 6, 50}, {24, 40, 3, 2}, {}, DType::f32, 2, 1e-4);
  check_conv_against_reference({1, 6, 9, 7}, {16, 6, 3, 3}, {}, DType::f32, 2, 1e-4);
  check_conv_against_reference({2, 8, 10, 30}, {38, 4, 3, 3}, {.padding = {1, 1}, .groups = 2}, DType::f32, 2, 1e-4);
  // Out^T tiles (6 positions by 4 vectors of output channels, or 8 by 2 or 1, transposed into
  // the output) on narrow images, where they compute only real outputs, their positions running
  // across the rows and the rest of an image in tiles of half, a quarter, ... as many: 70 channels
  // (tiles of 4 and 1 vectors, the last vector 6/16 full) on rows of 5 outputs in 7 columns, 25
  // positions an image (tiles of 6 and 8, then 1); 19 rows of them, 95 positions (6 x 15, 3, 1,
  // 1; 8 x 11, 4, 2, 1), with 70 and 40 channels (tiles of 2 and 1 vectors).
  check_conv_against_reference({2, 6, 7, 7}, {70, 6, 3, 3}, {}, DType::f32, 2, 1e-4);
  check_conv_against_reference({2, 6, 21, 7}, {70, 6, 3, 3}, {}, DType::f32, 2, 1e-4);
  check_conv_against_reference({2, 6, 21, 7}, {40, 6, 3, 3}, {}, DType::f32, 2, 1e-4);
}

TEST_CASE("conv2d's weight gradient computed directly from the window matches the definition, in f32 and bf16") {
  // On AVX-512 a kernel 2 or 3 taps wide without horizontal dilation sums dW^T in register
  // tiles of channel rows (c, kh) by 4, 2 or 1 vectors of 16 output channels. 100 output
  // channels per group are 7 vectors (tiles of 4, 2 and 1, the last vector partly empty); 3
  // input channels x 3 rows are 9 channel rows, which no tile size divides (the last tile
  // repeats a row and drops it); output rows of 300 positions are cut into runs of at most 256;
  // one image on 2 threads is cut between them into chunks of 4 and 3 output rows, each thread
  // summing its own dW^T (added in order); a stride of 2 and a vertical dilation
  // step the runs across the window. bf16 (with the dot-product instructions) sums position
  // pairs in f32: the odd run of 300 - 256 = 44, then 7 x 41 positions in odd runs of 41.
  check_conv_against_reference({1, 6, 7, 300}, {200, 3, 3, 3}, {.padding = {1, 1}, .groups = 2}, DType::f32, 2, 1e-4);
  check_conv_against_reference({2, 4, 9, 20}, {6, 4, 2, 2}, {.stride = {2, 2}, .dilation = {2, 1}}, DType::f32, 2,
                               1e-4);
  check_conv_against_reference({1, 6, 7, 300}, {200, 3, 3, 3}, {.padding = {1, 1}, .groups = 2}, DType::bf16, 2, 1e-2);
  check_conv_against_reference({2, 3, 9, 43}, {20, 3, 3, 3}, {.dilation = {2, 1}}, DType::bf16, 1, 1e-2);
}

TEST_CASE("conv2d's bf16 weight gradient reads no input past an odd row's last position") {
  // 3 x 3 over 4 x 5 ones without padding: output rows of 3 positions, a pair and a half pair.
  // The input past the half pair's position under tap kw = 2 is the next row's first, here
  // infinite; it is read by no position under that tap, so dW[kh][2] is the sum of dy, 6, as
  // dW[kh][1] and dW[2][0] are, while dW[0][0] and dW[1][0] (reading it) are not finite.
  for (const DType dtype : {DType::f32, DType::bf16}) {
    std::vector<float> values(20, 1.0f);
    values[5] = std::numeric_limits<float>::infinity();  // row 1, column 0
    const Tensor x = from_vector<float>(values, {1, 1, 4, 5}).to(dtype);
    const Tensor w = ones({1, 1, 3, 3}).to(dtype).set_requires_grad(true);
    sum(conv2d(x, w)).backward();
    const std::vector<double> dw = w.grad().to_vector<double>();
    for (const std::size_t e : {1, 2, 4, 5, 6, 7, 8}) CHECK(dw[e] == 6.0);
    CHECK(!std::isfinite(dw[0]));
    CHECK(!std::isfinite(dw[3]));
  }
}

TEST_CASE("conv_transpose2d and its gradients match the definitions on every path, with a bias") {
  // Its forward is the convolution's input gradient, started at the bias. The up-convolution (2 x
  // 2, stride 2) in f32 on AVX-512 sums each pair of output rows from one input row in tiles of 4
  // channels by both columns by 1 to 3 vectors of 16 input columns, interleaving the columns in
  // registers: rows of 15 (one partial vector), of 50 (tiles of 3 and 1, the last vector 2 lanes;
  // 6 channels, blocks of 4 and 2) and of 20 in 2 groups (a tile of 2). Without AVX-512 (and in
  // bf16 on the dot products, from an f32 copy of the image rounded once) it adds W^T @ x
  // columns onto the bias, the two taps of a row interleaved 16 positions at a time (one image on
  // 2 threads: the threads share each chunk); through a column matrix in f64 and f16. Stride 1
  // with fewer input than output channels is itself a convolution, whose products accumulate onto
  // the bias.
  const Conv2dParams up{.stride = {2, 2}};
  check_conv_transpose_against_reference({1, 4, 12, 30}, {6, 4, 2, 2}, up, DType::f32, 2, 1e-4);
  check_conv_transpose_against_reference({3, 4, 12, 30}, {6, 4, 2, 2}, up, DType::f32, 2, 1e-4);
  check_conv_transpose_against_reference({2, 6, 8, 100}, {5, 6, 2, 2}, up, DType::f32, 2, 1e-4);
  check_conv_transpose_against_reference({1, 4, 6, 40}, {6, 2, 2, 2}, {.stride = {2, 2}, .groups = 2}, DType::f32, 2,
                                         1e-4);
  // A 2 x 2, stride-2 convolution: its input gradient the same tiles written without a bias, its
  // forward (and the up-convolution's input gradient above) tiles of 8 output channels by 1 to 3
  // vectors of 16 output columns, each input row split into its even and odd columns in
  // registers: 5 channels (one partial block) on rows of 50; 9 channels (blocks of 8 and 1) on an
  // odd image, 9 x 41, whose last row and column no tap reads (a tile of 2 vectors, the second 4
  // lanes; the input gradient, which must leave them zero, takes the column path).
  check_conv_against_reference({2, 6, 8, 100}, {5, 6, 2, 2}, up, DType::f32, 2, 1e-4);
  check_conv_against_reference({1, 3, 9, 41}, {9, 3, 2, 2}, up, DType::f32, 2, 1e-4);
  check_conv_transpose_against_reference({1, 4, 12, 30}, {6, 4, 2, 2}, up, DType::bf16, 2, 1e-2);
  check_conv_transpose_against_reference({2, 4, 12, 30}, {6, 2, 2, 2}, {.stride = {2, 2}, .groups = 2}, DType::f64,
                                         2, 1e-10);
  check_conv_transpose_against_reference({2, 4, 12, 30}, {6, 4, 2, 2}, up, DType::f16, 2, 2e-2);
  check_conv_transpose_against_reference({2, 6, 9, 20}, {4, 6, 3, 3}, {.padding = {1, 1}}, DType::f32, 2, 1e-4);
  check_conv_transpose_against_reference({2, 6, 9, 20}, {4, 6, 3, 3}, {.padding = {1, 1}}, DType::bf16, 2, 1e-2);
}

TEST_CASE("conv2d in f16 and bf16 computes in f32 and rounds once") {
  // Each output is a sum of 36 products of rounded inputs: the f32 sum of exact products,
  // rounded once to the half type, is within one half-precision ulp of the f64 value
  // (2^-11 relative for f16, 2^-8 for bf16; a few times that absolutely near zero).
  check_conv_against_reference({2, 4, 9, 7}, {3, 4, 3, 3}, {.padding = {1, 1}}, DType::f16, 2, 2e-2);
  check_conv_against_reference({2, 4, 9, 7}, {3, 4, 3, 3}, {.stride = {2, 2}}, DType::bf16, 1, 8e-2);
}

TEST_CASE("conv2d and conv_transpose2d refuse a weight changed in place before backward") {
  // Backward reads the saved weight: a silent in-place change would give a wrong input gradient.
  for (const bool transposed : {false, true}) {
    const Tensor x = ones({1, 2, 4, 4}).set_requires_grad(true);
    const Tensor w = ones({2, 2, 3, 3}).set_requires_grad(true);
    const Tensor out = transposed ? conv_transpose2d(x, w) : conv2d(x, w);
    {
      NoGradGuard no_grad;
      w.detach().mul_(2.0);
    }
    CHECK(contains(error_of([&] { sum(out).backward(); }), "has been modified by an in-place operation"));
  }
}
