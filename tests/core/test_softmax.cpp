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
