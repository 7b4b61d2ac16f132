// max_pool2d and avg_pool2d.
#include <cmath>
#include <limits>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("pooling by hand on a 4x4 image") {
  const Tensor x = arange(0, 16, 1, {.dtype = DType::f32}).view({1, 1, 4, 4});
  // 2x2 windows: maxima are the bottom-right corners, means the window centres.
  check_values(max_pool2d(x, {.kernel = {2, 2}}), {5, 7, 13, 15});
  check_values(avg_pool2d(x, {.kernel = {2, 2}}), {2.5, 4.5, 10.5, 12.5});
  // Stride 1, 3x3: four overlapping windows.
  check_values(max_pool2d(x, {.kernel = {3, 3}, .stride = {1, 1}}), {10, 11, 14, 15});
  // Padding 1 with kernel 2, stride 2: the top-left window sees x[0][0] and three pads.
  check_values(avg_pool2d(x, {.kernel = {2, 2}, .padding = {1, 1}}).slice(3, 0, 1).slice(2, 0, 1), {0.0});
  check_values(max_pool2d(x, {.kernel = {2, 2}, .padding = {1, 1}}).slice(3, 0, 1).slice(2, 0, 1), {0.0});
}

TEST_CASE("2x2 max pooling with stride 2: ties go to the first maximum, NaN wins, an odd edge is dropped") {
  // One 3x5 plane (the last row and column belong to no window), its windows by hand:
  //   [1 7 | 7 2 | 0]     window (0,0): 1 7 / 3 7  -> 7 at (0,1), the first of the tied 7s
  //   [3 7 | 9 . | 0]     window (0,1): 7 2 / 9 NaN -> NaN, though 9 is larger
  //   [0 0   0 0   0]
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType dtype : {DType::f64, DType::f32, DType::bf16}) {  // every value is exact in bf16
    CAPTURE(dtype);
    const Tensor x = from_vector<double>({1, 7, 7, 2, 0, 3, 7, 9, nan, 0, 0, 0, 0, 0, 0})
                         .view({1, 1, 3, 5})
                         .to(dtype)
                         .set_requires_grad(true);
    const Tensor y = max_pool2d(x, {.kernel = {2, 2}});
    CHECK(y.sizes() == Shape{1, 1, 1, 2});
    CHECK(y.to_vector<double>()[0] == 7);
    CHECK(std::isnan(y.to_vector<double>()[1]));
    // The gradient goes to the winners only: (0,1) and the NaN at (1,3).
    y.backward(ones({1, 1, 1, 2}, {.dtype = dtype}));
    check_values(x.grad(), {0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
  }
}

TEST_CASE("2x2 max pooling with stride 2 at every row width: full groups of 16 outputs, masked tails, ties and NaNs") {
  // Widths of 13 and 5 outputs (the CNN's), 16 and 32 (whole groups of the vector path), 21
  // (a group and a tail), with an odd column left over, in several planes. Values from {0..3}
  // tie often; about one in 16 is NaN. The reference is the rule worked out element by element
  // here: the first maximum in window order (top left, top right, bottom left, bottom right)
  // wins, and the first NaN wins over any number.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Shape> shapes = {{2, 3, 5, 27}, {1, 1, 3, 11}, {1, 2, 2, 32}, {1, 1, 4, 64}, {3, 1, 2, 43}};
  for (const Shape& shape : shapes) {
    const std::int64_t planes = shape[0] * shape[1], height = shape[2], width = shape[3];
    const std::int64_t out_h = height / 2, out_w = width / 2;
    std::vector<double> values(static_cast<std::size_t>(planes * height * width));
    std::uint64_t state = 12345 + static_cast<std::uint64_t>(width);
    for (double& v : values) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const auto draw = static_cast<int>(state >> 60);  // 0..15
      v = draw == 15 ? nan : draw % 4;
    }
    std::vector<double> expected;
    std::vector<std::int64_t> expected_at;
    for (std::int64_t p = 0; p < planes; ++p) {
      for (std::int64_t oh = 0; oh < out_h; ++oh) {
        for (std::int64_t ow = 0; ow < out_w; ++ow) {
          const std::int64_t top = 2 * oh * width + 2 * ow;
          const std::int64_t window[4] = {top, top + 1, top + width, top + width + 1};
          std::int64_t best = window[0];
          auto value = [&](std::int64_t at) { return values[static_cast<std::size_t>(p * height * width + at)]; };
          for (int k = 1; k < 4; ++k) {
            const double v = value(window[k]), b = value(best);
            if (v > b || (std::isnan(v) && !std::isnan(b))) best = window[k];
          }
          expected.push_back(value(best));
          expected_at.push_back(best);
        }
      }
    }
    for (DType dtype : {DType::f32, DType::bf16}) {
      CAPTURE(to_string(shape));
      CAPTURE(dtype);
      const Tensor x = from_vector<double>(values).view(shape).to(dtype);
      const auto [y, at] = max_pool2d_with_indices(x, {.kernel = {2, 2}});
      REQUIRE(y.sizes() == Shape{shape[0], shape[1], out_h, out_w});
      const std::vector<double> got = y.to_vector<double>();
      CHECK(at.to_vector<std::int64_t>() == expected_at);
      for (std::size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(expected[i]) ? !std::isnan(got[i]) : got[i] != expected[i]) {
          FAIL_CHECK("output " << i << ": " << got[i] << ", expected " << expected[i]);
        }
      }
    }
  }
}

TEST_CASE("pooling options by hand: dilation, ceil_mode, count_include_pad, divisor_override") {
  const Tensor x = arange(0, 16, 1, {.dtype = DType::f32}).view({1, 1, 4, 4});
  // Kernel 2 with dilation 2 and stride 1: the taps (h, w), (h, w + 2), (h + 2, w), (h + 2, w + 2);
  // the max is the last, x[h + 2][w + 2].
  const auto [dilated, dilated_at] = max_pool2d_with_indices(x, {.kernel = {2, 2}, .stride = {1, 1}, .dilation = {2, 2}});
  check_values(dilated, {10, 11, 14, 15});
  CHECK(dilated_at.to_vector<std::int64_t>() == std::vector<std::int64_t>{10, 11, 14, 15});
  // 5x5 with 2x2 windows, stride 2: floor gives 2x2; ceil_mode adds the partial last row and column.
  const Tensor y = arange(0, 25, 1, {.dtype = DType::f32}).view({1, 1, 5, 5});
  check_values(max_pool2d(y, {.kernel = {2, 2}}), {6, 8, 16, 18});
  check_values(max_pool2d(y, {.kernel = {2, 2}, .ceil_mode = true}), {6, 8, 9, 16, 18, 19, 21, 23, 24});
  // A partial window's divisor is its size inside the (padded) image: window (0, 2) holds 4 and 9.
  check_values(avg_pool2d(y, {.kernel = {2, 2}, .ceil_mode = true}), {3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24});
  // Padding 1, kernel 2, stride 2 on the 4x4: windows over rows {-1, 0}, {1, 2}, {3, 4}, likewise columns.
  // Without count_include_pad a window divides by its elements inside the image.
  check_values(avg_pool2d(x, {.kernel = {2, 2}, .padding = {1, 1}, .count_include_pad = false}),
               {0, 1.5, 3, 6, 7.5, 9, 12, 13.5, 15});
  check_values(avg_pool2d(x, {.kernel = {2, 2}, .padding = {1, 1}}), {0, 0.75, 0.75, 3, 7.5, 4.5, 3, 6.75, 3.75});
  // divisor_override replaces the window size: the four window sums 10, 18, 42, 50 over 3.
  check_values(avg_pool2d(x, {.kernel = {2, 2}, .divisor_override = 3}), {10.0 / 3, 6, 14, 50.0 / 3});
}

TEST_CASE("max_unpool2d puts each maximum back where max_pool2d found it") {
  const Tensor x = arange(0, 16, 1, {.dtype = DType::f32}).view({1, 1, 4, 4});
  const auto [pooled, indices] = max_pool2d_with_indices(x, {.kernel = {2, 2}});
  const Tensor restored = max_unpool2d(pooled, indices, {.kernel = {2, 2}});
  CHECK(restored.sizes() == Shape{1, 1, 4, 4});
  check_values(restored, {0, 0, 0, 0, 0, 5, 0, 7, 0, 0, 0, 0, 0, 13, 0, 15});
  // An explicit output size: a 5x5 input pooled to 2x2 unpools to 5x5 again, not 4x4.
  const Tensor y = arange(0, 25, 1, {.dtype = DType::f32}).view({1, 1, 5, 5});
  const auto [pooled5, indices5] = max_pool2d_with_indices(y, {.kernel = {2, 2}});
  const Tensor restored5 = max_unpool2d(pooled5, indices5, {.kernel = {2, 2}}, {5, 5});
  CHECK(restored5.sizes() == Shape{1, 1, 5, 5});
  CHECK(restored5.to_vector<double>()[18] == 18);
  CHECK(contains(error_of([&] { max_unpool2d(pooled5, indices5, {.kernel = {2, 2}}, {3, 3}); }),
                 "max_unpool2d: index 18 is outside the output plane of 3x3"));
  CHECK(contains(error_of([&] { max_unpool2d(pooled5, indices5.slice(3, 0, 1), {.kernel = {2, 2}}); }),
                 "indices must be i64 of the input's shape [1, 1, 2, 2]"));
}

TEST_CASE("pooling errors") {
  CHECK(contains(error_of([] { max_pool2d(zeros({1, 1, 1, 1}), {.kernel = {2, 2}}); }),
                 "input of shape [1, 1, 1, 1] is smaller than the 2x2 window"));
  CHECK(contains(error_of([] { avg_pool2d(zeros({4, 4}), {}); }), "expected input [N, C, H, W]"));
  CHECK(contains(error_of([] { max_pool2d(zeros({1, 1, 4, 4}), {.kernel = {2, 2}, .padding = {2, 0}}); }),
                 "padding must be at most half the kernel"));
  CHECK(contains(error_of([] { avg_pool2d(zeros({1, 1, 4, 4}), {.kernel = {2, 2}, .dilation = {2, 1}}); }),
                 "avg_pool2d: dilation is an option of max pooling only"));
  CHECK(contains(error_of([] { max_pool2d(zeros({1, 1, 3, 3}), {.kernel = {2, 2}, .dilation = {3, 3}}); }),
                 "is smaller than the 4x4 window"));
}

TEST_CASE("gradcheck: max and average pooling") {
  // Distinct values keep the max unique, so the max is differentiable at the test point.
  const Tensor x = (arange(0, 50, 1, {.dtype = DType::f64}).view({1, 2, 5, 5}) * 0.37 + leaf({1, 2, 5, 5}, 91) * 0.01)
                       .detach()
                       .set_requires_grad(true);
  CHECK(gradcheck([](const Inputs& in) { return max_pool2d(in[0], {.kernel = {2, 2}}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return max_pool2d(in[0], {.kernel = {3, 3}, .stride = {1, 2}, .padding = {1, 1}}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return avg_pool2d(in[0], {.kernel = {2, 3}, .stride = {1, 1}, .padding = {1, 1}}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) {
    return max_pool2d(in[0], {.kernel = {2, 2}, .stride = {1, 2}, .padding = {1, 0}, .dilation = {2, 2}, .ceil_mode = true});
  }, {x}));
  CHECK(gradcheck([](const Inputs& in) {
    return avg_pool2d(in[0], {.kernel = {3, 2}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true,
                              .count_include_pad = false});
  }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return avg_pool2d(in[0], {.kernel = {2, 2}, .divisor_override = 5}); }, {x}));
  const auto [pooled, indices] = max_pool2d_with_indices(x.detach(), {.kernel = {2, 2}});
  CHECK(gradcheck([&](const Inputs& in) { return max_unpool2d(in[0], indices, {.kernel = {2, 2}}, {5, 5}); },
                  {pooled.detach().set_requires_grad(true)}));
}
