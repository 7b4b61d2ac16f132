// Reductions: values worked out by hand, keepdim, and gradients.
#include <cmath>
#include <limits>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("sum mean and var over dims with and without keepdim") {
  const Tensor m = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(m).item<double>() == 21);
  check_values(sum(m, {0}), {5, 7, 9});
  check_values(sum(m, {1}), {6, 15});
  CHECK(sum(m, {1}, true).sizes() == Shape{2, 1});
  check_values(sum(m, {-1, 0}), {21});
  check_values(mean(m, {1}), {2, 5});
  // Row 0 is {1, 2, 3}: mean 2, squared deviations 1 + 0 + 1 = 2, over N - 1 = 2 -> 1.
  check_values(var(m, {1}), {1, 1});
  check_values(var(m, {1}, 0), {2.0 / 3, 2.0 / 3});  // population variance
  check_values(sum(m.t(), {1}), {5, 7, 9});           // strided input
  CHECK(sum(from_vector<bool>({true, true, false})).item<std::int64_t>() == 2);
  CHECK(sum(from_vector<bool>({true})).dtype() == DType::i64);
  // Reductions of three dims into the middle one.
  const Tensor cube = arange(0, 24, 1, {.dtype = DType::f64}).view({2, 3, 4});
  check_values(sum(cube, {0, 2}), {60, 92, 124});
}

TEST_CASE("max min argmax argmin - NaN wins like in PyTorch") {
  const Tensor m = from_vector<float>({3, 9, 1, 7, 2, 9}, {2, 3});
  CHECK(max(m).item<float>() == 9);
  CHECK(min(m).item<float>() == 1);
  check_values(max(m, 1), {9, 9});
  check_values(min(m, 0), {3, 2, 1});
  check_values(argmax(m, 1), {1, 2});
  check_values(argmin(m, 1), {2, 1});
  CHECK(argmax(m).item<std::int64_t>() == 1);  // the first of the two 9s
  // Without a dim, like PyTorch's torch.argmin(m): the index into the flattened tensor, 0-dim.
  CHECK(argmin(m).dim() == 0);
  CHECK(argmin(m).item<std::int64_t>() == 2);
  CHECK(argmin(from_vector<float>({4, 1, 1})).item<std::int64_t>() == 1);  // the first of the ties
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(max(from_vector<float>({1, nan, 3})).item<float>()));
  CHECK(contains(error_of([] { max(zeros({0, 3}), 0); }), "cannot reduce an empty dim"));
  CHECK(contains(error_of([] { sum(zeros({2, 3}), {0, 0}); }), "dim 0 appears twice"));
  CHECK(contains(error_of([] { sum(zeros({2, 3}), {2}); }), "sum: dim 2 is out of range"));
}

TEST_CASE("max and min overall split the gradient among ties, along a dim the first takes it, as PyTorch") {
  const Tensor x = from_vector<double>({1, 3, 3, 2, 3, 0}, {2, 3}).set_requires_grad(true);
  (max(x) * 6.0).backward();  // three 3s share the 6
  check_values(x.grad(), {0, 2, 2, 0, 2, 0});
  const Tensor y = from_vector<double>({1, 3, 3, 2, 3, 0}, {2, 3}).set_requires_grad(true);
  sum(max(y, 1)).backward();  // row 0: the first 3 (column 1); row 1: the 3 in column 1
  check_values(y.grad(), {0, 1, 0, 0, 1, 0});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor z = from_vector<double>({nan, 1, nan, -1}).set_requires_grad(true);
  min(z).backward();  // the NaNs are the extreme, and share the gradient
  check_values(z.grad(), {0.5, 0, 0.5, 0});
}

TEST_CASE("gradcheck: reductions on strided inputs") {
  const Tensor x = strided_leaf({3, 4}, 21);
  CHECK(gradcheck([](const Inputs& in) { return sum(in[0]); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return sum(in[0], {0}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return sum(in[0], {1}, true); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return mean(in[0], {1}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return var(in[0], {0}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return max(in[0], 1); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return min(in[0], 0, true); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return max(in[0]); }, {x}));
  const Tensor cube = leaf({2, 3, 2}, 22);
  CHECK(gradcheck([](const Inputs& in) { return sum(in[0], {0, 2}); }, {cube}));
}

TEST_CASE("a bias gradient's sum over batch and both spatial dims, run by run, equals the sum by hand") {
  // [3, 2, 5, 7]: each channel sums 3 runs of 35 contiguous values (35 is not a multiple of the
  // 8 partial sums, so every run has a tail), and a transposed input reduces with strides.
  // Values i % 13 are exact in bf16 and their sums exact in f32 and f64.
  std::vector<double> values(3 * 2 * 5 * 7);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i % 13);
  double expected[2] = {0, 0};
  for (std::size_t i = 0; i < values.size(); ++i) expected[(i / 35) % 2] += values[i];
  for (DType dtype : {DType::f64, DType::f32, DType::bf16}) {
    CAPTURE(dtype);
    const Tensor x = from_vector<double>(values).view({3, 2, 5, 7}).to(dtype);
    // The exact sums rounded once to the result's dtype (629 is not a bf16 number: 628).
    const std::vector<double> rounded =
        from_vector<double>({expected[0], expected[1], expected[0] + expected[1]}).to(dtype).to_vector<double>();
    check_values(sum(x, {0, 2, 3}), {rounded[0], rounded[1]}, 0.0);
    check_values(sum(x.transpose(2, 3), {0, 2, 3}), {rounded[0], rounded[1]}, 0.0);
    CHECK(sum(x).item<double>() == rounded[2]);
    // An empty reduced dim sums to zero (and reads nothing).
    check_values(sum(zeros({2, 0, 3}, {.dtype = dtype}), {1}), std::vector<double>(6, 0.0), 0.0);
  }
}
