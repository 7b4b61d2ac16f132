// cross_entropy: values by hand, gradients, errors.
#include <cmath>

#include "helpers.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("cross_entropy by hand") {
  // Row 0: softmax(0, ln 3) = (1/4, 3/4), target 1 -> -ln(3/4). Row 1: (1/2, 1/2) -> -ln(1/2).
  const Tensor logits = from_vector<double>({0, std::log(3.0), 1, 1}, {2, 2});
  const Tensor target = from_vector<std::int64_t>({1, 0});
  const double expected = (-std::log(0.75) - std::log(0.5)) / 2;
  CHECK(nn::functional::cross_entropy(logits, target).item<double>() == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("cross_entropy gradient is (softmax - onehot) / N") {
  const Tensor logits = leaf({4, 5}, 71);
  const Tensor target = from_vector<std::int64_t>({0, 4, 2, 2});
  CHECK(gradcheck([&](const std::vector<Tensor>& in) { return nn::functional::cross_entropy(in[0], target); }, {logits}));
  nn::functional::cross_entropy(logits, target).backward();
  const Tensor p = softmax(logits.detach(), 1);
  CHECK(logits.grad().at<double>({1, 4}) == doctest::Approx((p.at<double>({1, 4}) - 1) / 4));
  CHECK(logits.grad().at<double>({1, 0}) == doctest::Approx(p.at<double>({1, 0}) / 4));
}

TEST_CASE("cross_entropy errors") {
  CHECK(contains(error_of([] { nn::functional::cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, 3})); }),
                 "target class 3 is out of range for 3 classes"));
  CHECK(contains(error_of([] { nn::functional::cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0})); }),
                 "target must be an i64 tensor of shape [2]"));
  CHECK(contains(error_of([] { nn::functional::cross_entropy(zeros({2, 3}), zeros({2})); }), "got [2] f32 cpu"));
}
