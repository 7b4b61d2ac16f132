#pragma once
// Fused LayerNorm and BatchNorm on the GPU, with the CPU kernels' contract
// (kernels/cpu/normalization.h): the same formulas, statistics in the compute type, f64 sums.
//
// LayerNorm: one block per row for the statistics, the output and the input gradient; the
// weight and bias gradients are column sums, done in two deterministic steps (partial sums
// over row chunks, then the chunks in order). BatchNorm: per-channel sums split over chunks of
// the batch so that every multiprocessor gets work, then combined in order; the output and the
// input gradient are elementwise. No atomics anywhere: every run gives the same bits.
#include <cstdint>

#include "core/scalar_type.h"

namespace ember::kernels::cuda {

void layer_norm(DType dtype, std::int64_t rows, std::int64_t cols, const void* x, const void* weight,
                const void* bias, double eps, void* y, void* mean, void* rstd);
void layer_norm_backward(DType dtype, std::int64_t rows, std::int64_t cols, const void* grad_y, const void* x,
                         const void* mean, const void* rstd, const void* weight, void* grad_x, void* grad_weight,
                         void* grad_bias);
void batch_norm_statistics(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                           const void* x, void* mean, void* var);
void batch_norm(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial, const void* x,
                const void* mean, const void* invstd, const void* weight, const void* bias, void* y);
void batch_norm_backward(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                         const void* grad_y, const void* x, const void* mean, const void* invstd, const void* weight,
                         bool training, void* grad_x, void* grad_weight, void* grad_bias);

}  // namespace ember::kernels::cuda
