// nn::Conv2d, nn::ConvTranspose2d, pooling, Upsample and Flatten layers.
#include <cmath>

#include "helpers.h"
#include "nn/models.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("Conv2d keeps its parameters however it is constructed") {
  // Regression: GCC 12 -O3 with AVX-512 built a defaulted by-value Conv2dParams with padding 1
  // when the layer was made by std::make_shared.
  const auto made = std::make_shared<nn::Conv2d>(1, 32, std::array<std::int64_t, 2>{3, 3});
  CHECK(made->params.padding == std::array<std::int64_t, 2>{0, 0});
  CHECK(made->params.stride == std::array<std::int64_t, 2>{1, 1});
  CHECK((*made)(zeros({2, 1, 28, 28})).sizes() == Shape{2, 32, 26, 26});
  const auto pool = std::make_shared<nn::MaxPool2d>(Pool2dParams{.kernel = {2, 2}});
  CHECK(pool->params.padding == std::array<std::int64_t, 2>{0, 0});
}

TEST_CASE("Conv2d init is U(-1/sqrt(fan_in) to 1/sqrt(fan_in)) with fan_in = in/groups * KH * KW") {
  manual_seed(1);
  nn::Conv2d layer(16, 64, {5, 5}, {.groups = 2});
  CHECK(layer.weight.sizes() == Shape{64, 8, 5, 5});
  const double bound = 1.0 / std::sqrt(8.0 * 25);
  CHECK(max(abs(layer.weight)).item<double>() <= bound);
  CHECK(var(layer.weight, {}).item<double>() == doctest::Approx(bound * bound / 3).epsilon(0.05));
  CHECK(max(abs(layer.bias)).item<double>() <= bound);
}

TEST_CASE("the reference CNN shapes: 28x28 -> 1600 features") {
  const auto cnn = nn::models::fashion_mnist_cnn();
  // Layers 0..6 end in the flatten: 64 channels of 5x5 = 1600 features, then 10 logits.
  Tensor x = zeros({3, 1, 28, 28});
  for (std::size_t i = 0; i < 7; ++i) x = cnn->children()[i].second->forward(x);
  CHECK(x.sizes() == Shape{3, 1600});
  CHECK((*cnn)(zeros({3, 1, 28, 28})).sizes() == Shape{3, 10});
  CHECK(nn::models::fashion_mnist_mlp()->forward(zeros({3, 1, 28, 28})).sizes() == Shape{3, 10});
}

TEST_CASE("ConvTranspose2d: weight [in, out/groups, KH, KW] and fan_in = out/groups * KH * KW like PyTorch") {
  manual_seed(2);
  nn::ConvTranspose2d layer(8, 32, {4, 4}, {.stride = {2, 2}, .padding = {1, 1}, .groups = 2});
  CHECK(layer.weight.sizes() == Shape{8, 16, 4, 4});
  const double bound = 1.0 / std::sqrt(16.0 * 16);
  CHECK(max(abs(layer.weight)).item<double>() <= bound);
  CHECK(var(layer.weight, {}).item<double>() == doctest::Approx(bound * bound / 3).epsilon(0.05));
  CHECK(max(abs(layer.bias)).item<double>() <= bound);
  // The usual 2x upsampling block: 7x7 -> 14x14.
  CHECK(layer(zeros({2, 8, 7, 7})).sizes() == Shape{2, 32, 14, 14});
}

TEST_CASE("AdaptiveAvgPool2d and Upsample layers apply their ops") {
  const Tensor x = arange(0, 16, 1, {.dtype = DType::f32}).view({1, 1, 4, 4});
  nn::AdaptiveAvgPool2d global({1, 1});
  check_values(global(x), {7.5});  // the mean of 0..15
  nn::Upsample twice({.scale_factor = {2, 2}});
  const Tensor up = twice(x);
  CHECK(up.sizes() == Shape{1, 1, 8, 8});
  // Nearest x2 then 2x2 average pooling gives the original back.
  check_values(avg_pool2d(up, {.kernel = {2, 2}}), x.to_vector<double>());
}
