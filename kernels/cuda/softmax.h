#pragma once
// Softmax / log-softmax over the last dim of a contiguous [rows, cols] buffer on the GPU, with
// the CPU kernel's contract (kernels/cpu/softmax.h). One block per row: the row max, then the
// sum of exp(x - max), each by a block reduction, then one pass that writes the row. The fused
// cross-entropy works the same way, one block per row, forward and backward.
#include <cstdint>

#include "core/scalar_type.h"
#include "kernels/cross_entropy.h"

namespace ember::kernels::cuda {

void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log);
void cross_entropy(DType dtype, const CrossEntropyProblem& problem, const void* logits, void* losses,
                   void* log_sum_exp);
void cross_entropy_backward(DType dtype, const CrossEntropyProblem& problem, const void* grad_losses,
                            const void* logits, const void* log_sum_exp, void* grad_logits);

}  // namespace ember::kernels::cuda
