#pragma once
// Softmax and log-softmax over the last dim of a contiguous [rows, cols] buffer.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/cross_entropy.h"

namespace ember::kernels::cpu {

// out = softmax(in) row by row (log_softmax when `log`), subtracting the row max first so
// exp never overflows. Half types compute in f32.
void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log);

// Softmax fused with the cross-entropy of kernels/cross_entropy.h: losses [rows] in the logits'
// dtype, and each row's log-sum-exp [rows] in the compute type for the backward.
void cross_entropy(DType dtype, const CrossEntropyProblem& problem, const void* logits, void* losses,
                   void* log_sum_exp);
// grad_logits[r, c] = grad_losses[r] d loss_r / d row[c] (0 for ignored rows).
void cross_entropy_backward(DType dtype, const CrossEntropyProblem& problem, const void* grad_losses,
                            const void* logits, const void* log_sum_exp, void* grad_logits);

}  // namespace ember::kernels::cpu
