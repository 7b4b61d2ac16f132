#pragma once
// Losses that are ops of their own, with their own backward, where composing them from simpler
// ops would give a wrong gradient at a kink. (softmax_cross_entropy, fused with its softmax,
// is in softmax.h.)
#include "core/tensor.h"

namespace ember {

// The per-element binary cross-entropy of sigmoid(logits) against target (same shape, dtype
// and device), computed stably: max(x, 0) - x y + log(1 + exp(-|x|)). Its gradient is
// sigmoid(x) - y for the logits (0.5 - y at x = 0, where the composed form's relu and abs give
// -y) and -x for the target.
Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& target);

}  // namespace ember
