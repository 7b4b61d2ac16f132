// softmax and log_softmax: values, stability and gradients.
#include <cmath>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("softmax values by hand") {
  const Tensor x = from_vector<double>({0, std::log(3.0), 1, 1}, {2, 2});
  check_values(softmax(x, 1), {0.25, 0.75, 0.5, 0.5}, 1e-12);  // e^0 : e^log3 = 1 : 3
  check_values(log_softmax(x, 1), {std::log(0.25), std::log(0.75), std::log(0.5), std::log(0.5)}, 1e-12);
  // Along dim 0 the columns are normalized instead.
  check_values(sum(softmax(x, 0), {0}), {1, 1}, 1e-12);
}

TEST_CASE("softmax is stable for large logits") {
  // exp(1000) overflows; subtracting the row max first keeps the result exact.
  const Tensor x = from_vector<float>({1000, 1000, -1000});
  check_values(softmax(x, 0), {0.5, 0.5, 0}, 1e-6);
  check_values(log_softmax(x, 0), {-std::log(2.0), -std::log(2.0), -2000 - std::log(2.0)}, 1e-5);
}

TEST_CASE("gradcheck: softmax and log_softmax over each dim with strided input") {
  const Tensor x = strided_leaf({3, 4}, 31);
  // Weighted sums make every output element matter to the check.
  const Tensor w = randn({3, 4}, {.dtype = DType::f64});
  for (std::int64_t dim : {0, 1, -1}) {
    CHECK(gradcheck([&](const Inputs& in) { return softmax(in[0], dim) * w; }, {x}));
    CHECK(gradcheck([&](const Inputs& in) { return log_softmax(in[0], dim) * w; }, {x}));
  }
  CHECK(gradcheck([](const Inputs& in) { return softmax(in[0], 1); }, {leaf({2, 3, 2}, 32)}));
}

TEST_CASE("softmax_cross_entropy equals -log_softmax at the label, weighted and smoothed") {
  const Tensor logits = randn({6, 5}, {.dtype = DType::f64});
  const Tensor labels = from_vector<std::int64_t>({0, 4, 2, -100, 1, 4});
  const Tensor weight = add(rand({5}, {.dtype = DType::f64}), 0.5);
  const double s = 0.3;
  const Tensor losses = softmax_cross_entropy(logits, labels, weight, -100, s);
  // Row by row from the definition: (1 - s) w[y] (-log p[y]) + (s / C) sum_c w[c] (-log p[c]).
  const std::vector<double> log_p = log_softmax(logits, 1).to_vector<double>(), w = weight.to_vector<double>();
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  std::vector<double> expected;
  for (std::size_t r = 0; r < 6; ++r) {
    if (y[r] == -100) {
      expected.push_back(0);
      continue;
    }
    double uniform = 0;
    for (std::size_t c = 0; c < 5; ++c) uniform -= w[c] * log_p[r * 5 + c];
    expected.push_back(-(1 - s) * w[static_cast<std::size_t>(y[r])] * log_p[r * 5 + static_cast<std::size_t>(y[r])] +
                       s / 5 * uniform);
  }
  check_values(losses, expected, 1e-12);
}

TEST_CASE("gradcheck: softmax_cross_entropy with weights smoothing and ignored rows") {
  const Tensor labels = from_vector<std::int64_t>({2, 0, 7, 3});
  const Tensor weight = add(rand({4}, {.dtype = DType::f64}), 0.5);
  CHECK(gradcheck([&](const Inputs& in) { return softmax_cross_entropy(in[0], labels, weight, 7, 0.2); },
                  {leaf({4, 4}, 221)}));
  CHECK(gradcheck([&](const Inputs& in) { return softmax_cross_entropy(in[0], labels, {}, 7); }, {leaf({4, 4}, 222)}));
}

TEST_CASE("softmax_cross_entropy errors") {
  CHECK(contains(error_of([] { softmax_cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, -5})); }),
                 "softmax_cross_entropy: label -5 is out of range for 3 classes"));
  CHECK(contains(error_of([] { softmax_cross_entropy(zeros({2, 3}), zeros({2})); }),
                 "labels must be an i64 tensor of shape [2], got [2] f32 cpu"));
  const Tensor trained_weight = ones({3}).set_requires_grad(true);
  CHECK(contains(error_of([&] { softmax_cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, 1}), trained_weight); }),
                 "class_weight gets no gradient"));
}
