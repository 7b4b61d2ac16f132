// cat and stack.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("cat and stack values") {
  const Tensor a = from_vector<float>({1, 2, 3, 4}, {2, 2});
  const Tensor b = from_vector<float>({5, 6}, {1, 2});
  check_values(cat({a, b}, 0), {1, 2, 3, 4, 5, 6});
  check_values(cat({a, a.t()}, 1), {1, 2, 1, 3, 3, 4, 2, 4});
  const Tensor s = stack({from_vector<float>({1, 2}), from_vector<float>({3, 4})}, 1);
  CHECK(s.sizes() == Shape{2, 2});
  check_values(s, {1, 3, 2, 4});
}

TEST_CASE("cat and stack errors name the shapes") {
  CHECK(contains(error_of([] { cat({zeros({2, 2}), zeros({2, 3})}, 0); }),
                 "cat: tensor 1 of shape [2, 3] does not match tensor 0 of shape [2, 2] outside dim 0"));
  CHECK(contains(error_of([] { stack({zeros({2}), zeros({3})}); }), "stack: tensor 1 of shape [3] differs"));
  CHECK(contains(error_of([] { cat({}); }), "non-empty"));
}

TEST_CASE("gradcheck: cat and stack") {
  CHECK(gradcheck([](const Inputs& in) { return cat({in[0], in[1]}, 1); }, {strided_leaf({2, 3}, 51), leaf({2, 1}, 52)}));
  CHECK(gradcheck([](const Inputs& in) { return stack({in[0], in[1]}, 0); }, {leaf({3}, 53), leaf({3}, 54)}));
}
