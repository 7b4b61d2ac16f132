// Elementwise ops: values, broadcasting, in-place variants and gradients.
#include <cmath>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("arithmetic values and NumPy broadcasting") {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor row = from_vector<float>({10, 20, 30});
  const Tensor col = from_vector<float>({100, 200}, {2, 1});
  check_values(a + row, {11, 22, 33, 14, 25, 36});
  check_values(a - col, {-99, -98, -97, -196, -195, -194});
  check_values(a * 2.0, {2, 4, 6, 8, 10, 12});
  // A scalar on the left reads like the math: 1 - a, 0.5 + a.
  check_values(1.0 - a, {0, -1, -2, -3, -4, -5});
  check_values(0.5 + a, {1.5, 2.5, 3.5, 4.5, 5.5, 6.5});
  check_values(row / a, {10, 10, 10, 2.5, 4, 5});
  check_values(pow(a, 2.0), {1, 4, 9, 16, 25, 36});
  check_values(add(a, row, -1.0), {-9, -18, -27, -6, -15, -24});
  // [2, 1] with [3]: both stretch, to [2, 3].
  check_values(col + row, {110, 120, 130, 210, 220, 230});
  check_values(from_vector<std::int64_t>({7, -7}) / from_vector<std::int64_t>({2, 2}), {3, -3});
}

TEST_CASE("math functions against std:: in f64") {
  const std::vector<double> xs = {-2.5, -0.3, 0.0, 0.7, 3.0};
  const Tensor x = from_vector<double>(xs);
  std::vector<double> e, r, s, th, g, ab;
  for (double v : xs) {
    e.push_back(std::exp(v));
    r.push_back(v > 0 ? v : 0);
    s.push_back(1 / (1 + std::exp(-v)));
    th.push_back(std::tanh(v));
    g.push_back(0.5 * v * (1 + std::erf(v / std::sqrt(2.0))));
    ab.push_back(std::abs(v));
  }
  check_values(exp(x), e, 1e-12);
  check_values(relu(x), r);
  check_values(sigmoid(x), s, 1e-12);
  check_values(tanh(x), th, 1e-12);
  check_values(gelu(x), g, 1e-12);
  check_values(abs(x), ab);
  check_values(-x, {2.5, 0.3, 0.0, -0.7, -3.0});
  check_values(clamp(x, -1.0, 1.0), {-1, -0.3, 0, 0.7, 1});
  check_values(clamp(x, std::nullopt, 0.5), {-2.5, -0.3, 0, 0.5, 0.5});
  check_values(sqrt(from_vector<double>({4, 9})), {2, 3});
  check_values(log(from_vector<double>({1, std::exp(2.0)})), {0, 2}, 1e-12);
}

TEST_CASE("comparisons and where") {
  const Tensor a = from_vector<float>({1, 5, 3});
  const Tensor b = from_vector<float>({2, 5, 1});
  check_values(lt(a, b), {1, 0, 0});
  check_values(le(a, b), {1, 1, 0});
  check_values(gt(a, b), {0, 0, 1});
  check_values(ge(a, b), {0, 1, 1});
  check_values(eq(a, b), {0, 1, 0});
  check_values(ne(a, b), {1, 0, 1});
  CHECK(lt(a, b).dtype() == DType::b8);
  check_values(where(gt(a, b), a, b), {2, 5, 3});
  check_values(where(gt(a, 2.0), a, scalar_tensor(0)), {0, 5, 3});
}

TEST_CASE("half types compute in f32 and round once") {
  const Tensor a = from_vector<float>({1.0f, 2.0f, 1000.0f}).to(DType::f16);
  const Tensor b = from_vector<float>({0.5f, 0.25f, 0.5f}).to(DType::f16);
  check_values(a + b, {1.5, 2.25, 1000.5});
  const Tensor c = from_vector<float>({1.0f, 3.0f}).to(DType::bf16);
  check_values(c * c, {1, 9});
}

TEST_CASE("in-place ops write through and bump the version") {
  Tensor a = from_vector<float>({1, 2, 3, 4}, {2, 2});
  const auto v0 = a.version();
  a.add_(from_vector<float>({10, 20}));  // broadcast over rows
  check_values(a, {11, 22, 13, 24});
  a.mul_(0.5);
  check_values(a, {5.5, 11, 6.5, 12});
  a.zero_();
  check_values(a, {0, 0, 0, 0});
  a.copy_(from_vector<double>({1, 2}));  // broadcast and convert
  check_values(a, {1, 2, 1, 2});
  CHECK(a.version() == v0 + 4);
  CHECK(contains(error_of([&] { a.add_(zeros({3})); }), "add_: shapes [2, 2] and [3] cannot be broadcast"));
  CHECK(contains(error_of([&] { a.add_(zeros({2, 2, 2})); }), "cannot be broadcast to the in-place target's shape [2, 2]"));
}

TEST_CASE("gradcheck: binary ops with broadcasting and strided inputs") {
  const Tensor x = leaf({3, 4}, 1), y = leaf({4}, 2), z = strided_leaf({3, 4}, 3), col = leaf({3, 1}, 4);
  const Tensor positive = (abs(leaf({3, 4}, 5)) + 0.5).detach().set_requires_grad(true);
  CHECK(gradcheck([](const Inputs& in) { return in[0] + in[1]; }, {x, y}));
  CHECK(gradcheck([](const Inputs& in) { return add(in[0], in[1], 0.5); }, {z, col}));
  CHECK(gradcheck([](const Inputs& in) { return in[0] - in[1]; }, {col, z}));
  CHECK(gradcheck([](const Inputs& in) { return in[0] * in[1]; }, {z, y}));
  CHECK(gradcheck([](const Inputs& in) { return in[0] / in[1]; }, {x, positive}));
  CHECK(gradcheck([](const Inputs& in) { return pow(in[0], in[1]); }, {positive, z}));
  CHECK(gradcheck([](const Inputs& in) { return pow(in[0], 3.0); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return where(gt(in[0], 0.0), in[0], in[1]); }, {x, y}));
}

TEST_CASE("gradcheck: unary ops on strided inputs") {
  const Tensor z = strided_leaf({3, 4}, 7);
  const Tensor positive = (abs(strided_leaf({3, 4}, 8)) + 0.5).detach().set_requires_grad(true);
  CHECK(gradcheck([](const Inputs& in) { return -in[0]; }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return exp(in[0]); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return log(in[0]); }, {positive}));
  CHECK(gradcheck([](const Inputs& in) { return sqrt(in[0]); }, {positive}));
  CHECK(gradcheck([](const Inputs& in) { return abs(in[0]); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return relu(in[0]); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return gelu(in[0]); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return sigmoid(in[0]); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return tanh(in[0]); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return clamp(in[0], -0.5, 0.5); }, {z}));
  CHECK(gradcheck([](const Inputs& in) { return in[0].to(DType::f32).to(DType::f64); }, {z},
                  {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2}));
}

TEST_CASE("gradcheck: in-place ops on non-leaf tensors") {
  const Tensor x = leaf({2, 3}, 11), y = leaf({3}, 12);
  CHECK(gradcheck([](const Inputs& in) {
          Tensor t = in[0] * 1.0;
          t.add_(in[1], 2.0);
          t.mul_(in[0]);
          return t;
        }, {x, y}));
  CHECK(gradcheck([](const Inputs& in) {
          Tensor t = zeros({2, 3}, {.dtype = DType::f64});
          t.copy_(in[1]);
          return t * in[0];
        }, {x, y}));
}

TEST_CASE("a bias broadcast along long rows: every chunk of the run adds the row's own value") {
  // [2, 3, 700] + [1, 3, 1]: each row of 700 (longer than the loop's 256-element chunks, with a
  // partial last one) adds its channel's value; and a scalar broadcast on the left of a
  // subtraction. Values are small integers, exact in bf16, so the expectation is exact.
  for (DType dtype : {DType::f32, DType::bf16}) {
    CAPTURE(dtype);
    std::vector<double> values(2 * 3 * 700);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i % 64);
    const Tensor x = from_vector<double>(values).view({2, 3, 700}).to(dtype);
    const Tensor b = from_vector<double>({10, 20, 30}).view({1, 3, 1}).to(dtype);
    const std::vector<double> sum = (x + b).to_vector<double>(), diff = (b - x).to_vector<double>();
    const std::vector<double> xs = x.to_vector<double>();
    bool all_equal = true;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double bias = 10.0 * static_cast<double>((i / 700) % 3 + 1);
      all_equal = all_equal && sum[i] == xs[i] + bias && diff[i] == bias - xs[i];
    }
    CHECK(all_equal);
  }
}
