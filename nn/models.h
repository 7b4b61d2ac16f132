#pragma once
// Reference models that the example, the benches and the tests share (a small model zoo).
#include <memory>

#include "nn/sequential.h"

namespace ember::nn::models {

// [N, 1, 28, 28] -> flatten -> 784-256-128-10 with ReLU.
std::shared_ptr<Sequential> fashion_mnist_mlp();
// [N, 1, 28, 28] -> conv(1->32, 3)-relu-maxpool2 -> conv(32->64, 3)-relu-maxpool2
// -> linear(1600->128)-relu -> linear(128->10). 28x28 -> 26 -> 13 -> 11 -> 5, and 64 * 5 * 5 = 1600.
std::shared_ptr<Sequential> fashion_mnist_cnn();

}  // namespace ember::nn::models
