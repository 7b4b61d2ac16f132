#include "nn/activation.h"

#include "core/ops/elementwise.h"
#include "core/ops/softmax.h"

namespace ember::nn {

Tensor ReLU::forward(const Tensor& input) { return relu(input); }
Tensor GELU::forward(const Tensor& input) { return gelu(input, approximate); }
Tensor SiLU::forward(const Tensor& input) { return input * sigmoid(input); }
Tensor Tanh::forward(const Tensor& input) { return tanh(input); }
Tensor Sigmoid::forward(const Tensor& input) { return sigmoid(input); }
Tensor Softmax::forward(const Tensor& input) { return softmax(input, dim); }

}  // namespace ember::nn
