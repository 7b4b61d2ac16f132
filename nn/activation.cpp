#include "nn/activation.h"

#include "core/ops/elementwise.h"

namespace ember::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }

}  // namespace ember::nn
