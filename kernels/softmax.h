#pragma once
// Softmax and log-softmax over the last dim of a contiguous [rows, cols] buffer.
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/softmax.cpp and
// kernels/cuda/softmax.cu define them.
#include <cstdint>

#include "kernels/cross_entropy.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// out = softmax(in) row by row (log_softmax when `log`), subtracting the row max first so
// exp never overflows. Half types compute in f32.
using SoftmaxKernel = void(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log);
// Softmax fused with the cross-entropy of kernels/cross_entropy.h: losses [rows] in the logits'
// dtype, and each row's log-sum-exp [rows] in the compute type for the backward.
using CrossEntropyKernel = void(DType dtype, const CrossEntropyProblem& problem, const void* logits, void* losses,
                                void* log_sum_exp);
// grad_logits[r, c] = grad_losses[r] d loss_r / d row[c] (0 for ignored rows).
using CrossEntropyBackwardKernel = void(DType dtype, const CrossEntropyProblem& problem, const void* grad_losses,
                                        const void* logits, const void* log_sum_exp, void* grad_logits);

namespace cpu {
SoftmaxKernel softmax;
CrossEntropyKernel cross_entropy;
CrossEntropyBackwardKernel cross_entropy_backward;
}  // namespace cpu

namespace cuda {
SoftmaxKernel softmax;
CrossEntropyKernel cross_entropy;
CrossEntropyBackwardKernel cross_entropy_backward;
}  // namespace cuda

}  // namespace ember::kernels
