#pragma once
// Softmax and log-softmax along one dim, computed stably (the row max is subtracted first).
#include "core/tensor.h"

namespace ember {

Tensor softmax(const Tensor& input, std::int64_t dim);
Tensor log_softmax(const Tensor& input, std::int64_t dim);

// log_softmax and the negative log-likelihood fused (one pass per row forward and backward):
// the per-row losses [M] of logits [M, C] against i64 labels [M], as kernels/cross_entropy.h
// defines them (class weights, label smoothing, 0 for ignore_index rows). class_weight [C] (or
// undefined) is a constant, as in PyTorch: it gets no gradient. Runs in f32 under autocast.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& class_weight = {},
                             std::int64_t ignore_index = -100, double label_smoothing = 0.0);

}  // namespace ember
