#pragma once
// Fashion-MNIST (Xiao et al. 2017): 28x28 grey images of 10 kinds of clothing.
#include <string>

#include "core/tensor.h"

namespace ember::data {

// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* kFashionMnistRoot = "/usr/share/datasets/fashion-mnist";

struct FashionMnist {
  Tensor images;  // f32 [N, 1, 28, 28], pixel values scaled to [0, 1]
  Tensor labels;  // i64 [N], classes 0..9
};

// The 60,000 training or 10,000 test examples from `root`.
FashionMnist load_fashion_mnist(const std::string& root, bool train);

}  // namespace ember::data
