// nn::Linear: PyTorch's default init and the layer's gradients.
#include <cmath>

#include "helpers.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("Linear init is U(-1/sqrt(in) to 1/sqrt(in)) for weight and bias") {
  manual_seed(0);
  nn::Linear layer(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);  // kaiming_uniform(a = sqrt(5)) reduces to this
  CHECK(layer.weight.sizes() == Shape{300, 400});
  CHECK(max(abs(layer.weight)).item<double>() <= bound);
  // U(-b, b) has variance b^2 / 3; 120,000 samples pin it within a few percent.
  CHECK(var(layer.weight, {}).item<double>() == doctest::Approx(bound * bound / 3).epsilon(0.03));
  CHECK(max(abs(layer.bias)).item<double>() <= bound);
  CHECK(layer.weight.requires_grad());
  CHECK(nn::Linear(3, 2, /*bias=*/false).named_parameters().size() == 1);
  CHECK(contains(error_of([] { nn::Linear(0, 2); }), "features must be positive"));
}

TEST_CASE("Linear forward/backward: dW = dY^T X and db = sum of dY") {
  nn::Linear layer(2, 1);
  layer.weight.detach().copy_(from_vector<float>({2, -1}, {1, 2}));
  layer.bias.detach().fill_(0.5);
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor y = layer(x);  // rows: 2*1 - 2 + 0.5 = 0.5 and 2*3 - 4 + 0.5 = 2.5
  CHECK(y.at<float>({0, 0}) == 0.5f);
  CHECK(y.at<float>({1, 0}) == 2.5f);
  sum(y).backward();
  CHECK(layer.weight.grad().at<float>({0, 0}) == 4);  // 1 + 3
  CHECK(layer.weight.grad().at<float>({0, 1}) == 6);  // 2 + 4
  CHECK(layer.bias.grad().item<float>() == 2);
}
