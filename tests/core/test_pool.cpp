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

TEST_CASE("pooling errors") {
  CHECK(contains(error_of([] { max_pool2d(zeros({1, 1, 1, 1}), {.kernel = {2, 2}}); }),
                 "input of shape [1, 1, 1, 1] is smaller than the 2x2 window"));
  CHECK(contains(error_of([] { avg_pool2d(zeros({4, 4}), {}); }), "expected input [N, C, H, W]"));
  CHECK(contains(error_of([] { max_pool2d(zeros({1, 1, 4, 4}), {.kernel = {2, 2}, .padding = {2, 0}}); }),
                 "padding must be at most half the kernel"));
}

TEST_CASE("gradcheck: max and average pooling") {
  // Distinct values keep the max unique, so the max is differentiable at the test point.
  const Tensor x = (arange(0, 50, 1, {.dtype = DType::f64}).view({1, 2, 5, 5}) * 0.37 + leaf({1, 2, 5, 5}, 91) * 0.01)
                       .detach()
                       .set_requires_grad(true);
  CHECK(gradcheck([](const Inputs& in) { return max_pool2d(in[0], {.kernel = {2, 2}}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return max_pool2d(in[0], {.kernel = {3, 3}, .stride = {1, 2}, .padding = {1, 1}}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return avg_pool2d(in[0], {.kernel = {2, 3}, .stride = {1, 1}, .padding = {1, 1}}); }, {x}));
}
