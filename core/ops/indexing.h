#pragma once
// Index ops: pick slices or elements by an i64 index tensor.
#include <optional>

#include "core/tensor.h"

namespace ember {

// The slices input[..., index[i], ...] along dim, for a 1-D index: shape as input with
// dim's size replaced by index.numel().
Tensor index_select(const Tensor& input, std::int64_t dim, const Tensor& index);
// The rows of weight [num_embeddings, dim] for i64 indices of any shape -> [..., dim], as PyTorch's
// F.embedding. The gradient adds into the rows looked up, except row padding_idx (negative counts
// from the end): its gradient stays zero, so the row keeps its value through training.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<std::int64_t> padding_idx = std::nullopt);
// out[i][j][k] = input[i][index[i][j][k]][k] for dim 1 (likewise for any dim). index has
// input's rank and input's sizes except along dim; out has index's shape.
Tensor gather(const Tensor& input, std::int64_t dim, const Tensor& index);
// A copy of self with src written at the positions gather would read: out[i][index[i][j][k]][k] =
// src[i][j][k] for dim 1. Where an index repeats, one of its sources is written (which is unspecified,
// as in PyTorch). The gradient reaches every source (gather) and self where nothing was written.
Tensor scatter(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src);
// A copy of self with src added at the positions gather would read: out[i][index[i][j][k]][k] += src[i][j][k]
// for dim 1. src has index's shape.
Tensor scatter_add(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace ember
