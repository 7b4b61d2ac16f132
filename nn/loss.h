#pragma once
// Loss functions.
#include "core/tensor.h"

namespace ember::nn::functional {

// Mean negative log-likelihood of the target classes under softmax(logits).
// logits [N, C] floating, target [N] i64 with values in [0, C).
Tensor cross_entropy(const Tensor& logits, const Tensor& target);

}  // namespace ember::nn::functional
