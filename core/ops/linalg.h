#pragma once
// Matrix products.
#include "core/tensor.h"

namespace ember {

// torch.matmul: 1-D x 1-D is a dot product; 2-D x 2-D a matrix product; with more dims the
// leading (batch) dims broadcast and a 1-D operand is promoted to a matrix and back.
Tensor matmul(const Tensor& a, const Tensor& b);
// input @ weight^T + bias, with input [..., in], weight [out, in], bias [out] or undefined.
// One GEMM that accumulates onto the broadcast bias: the layer nn::Linear runs.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});

}  // namespace ember
