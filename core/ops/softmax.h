#pragma once
// Softmax and log-softmax along one dim, computed stably (the row max is subtracted first).
#include "core/tensor.h"

namespace ember {

Tensor softmax(const Tensor& input, std::int64_t dim);
Tensor log_softmax(const Tensor& input, std::int64_t dim);

}  // namespace ember
