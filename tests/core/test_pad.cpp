// pad: each mode by hand, the gradient's sums over copies, errors, gradcheck.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("pad by hand: two elements each side of 0 1 2 3 in every mode") {
  const Tensor x = arange(0, 4, 1, {.dtype = DType::f32});
  check_values(pad(x, {2, 2}), {0, 0, 0, 1, 2, 3, 0, 0});
  check_values(pad(x, {2, 1}, PadMode::constant, -1), {-1, -1, 0, 1, 2, 3, -1});
  check_values(pad(x, {2, 2}, PadMode::reflect), {2, 1, 0, 1, 2, 3, 2, 1});
  check_values(pad(x, {2, 2}, PadMode::replicate), {0, 0, 0, 1, 2, 3, 3, 3});
  check_values(pad(x, {2, 2}, PadMode::circular), {2, 3, 0, 1, 2, 3, 0, 1});
  // The last two dims: {left, right, top, bottom} of a 2x2 image.
  const Tensor image = arange(0, 4, 1, {.dtype = DType::f32}).view({1, 1, 2, 2});
  const Tensor padded = pad(image, {1, 0, 0, 1}, PadMode::replicate);
  CHECK(padded.sizes() == Shape{1, 1, 3, 3});
  check_values(padded, {0, 0, 1, 2, 2, 3, 2, 2, 3});
}

TEST_CASE("pad's gradient sums every copy of an element into it") {
  // Reflecting 0 1 2 3 by two each side reads positions 2 1 0 1 2 3 2 1: element 1 three times,
  // element 2 three times, 0 and 3 once, so the gradient of the sum is 1 3 3 1.
  const Tensor x = arange(0, 4, 1, {.dtype = DType::f64}).set_requires_grad(true);
  sum(pad(x, {2, 2}, PadMode::reflect)).backward();
  check_values(x.grad(), {1, 3, 3, 1});
  const Tensor y = arange(0, 4, 1, {.dtype = DType::f64}).set_requires_grad(true);
  sum(pad(y, {3, 1})).backward();  // the constant padding takes no gradient
  check_values(y.grad(), {1, 1, 1, 1});
}

TEST_CASE("pad errors name the mode, the sizes and the input") {
  const Tensor x = zeros({1, 1, 2, 3});
  CHECK(contains(error_of([&] { pad(x, {1}); }), "pad: padding must hold a (before, after) pair per padded dim"));
  CHECK(contains(error_of([&] { pad(x, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); }), "at most one per dim"));
  CHECK(contains(error_of([&] { pad(x, {-1, 0}); }), "padding sizes must be >= 0, got -1 and 0 for dim 3"));
  CHECK(contains(error_of([&] { pad(x, {0, 0, 2, 0}, PadMode::reflect); }),
                 "pad: reflect padding of 2 and 0 does not fit dim 2 of size 2 (input [1, 1, 2, 3] f32 cpu)"));
  CHECK(contains(error_of([&] { pad(x, {4, 0}, PadMode::circular); }), "circular padding of 4 and 0 does not fit dim 3"));
  CHECK(contains(error_of([&] { pad(x, {1, 1}, PadMode::reflect, 2.0); }),
                 "a fill value is for constant padding only, not reflect"));
}

TEST_CASE("gradcheck: pad in every mode over two dims of a strided input") {
  const Tensor x = strided_leaf({2, 3, 4}, 51);
  for (PadMode mode : {PadMode::constant, PadMode::reflect, PadMode::replicate, PadMode::circular}) {
    CAPTURE(to_string(mode));
    CHECK(gradcheck([mode](const Inputs& in) { return pad(in[0], {2, 1, 1, 2}, mode); }, {x}));
  }
}
