#pragma once
// Views: new sizes/strides over the same storage. Nothing is copied; a write through a view is
// seen by every tensor sharing the storage. All are differentiable.
#include "core/tensor.h"

namespace ember {

// Same elements, new shape (one size may be -1). An Error when the strides cannot express it
// without a copy; reshape() copies in that case.
Tensor view(const Tensor& input, const Shape& sizes);
Tensor reshape(const Tensor& input, const Shape& sizes);
Tensor permute(const Tensor& input, const Shape& dims);
Tensor transpose(const Tensor& input, std::int64_t dim0, std::int64_t dim1);
// Elements start, start+step, ... before end along dim (Python slicing: negatives count from
// the end, out-of-range bounds are clamped).
Tensor slice(const Tensor& input, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
// Index `index` of dim, which is removed.
Tensor select(const Tensor& input, std::int64_t dim, std::int64_t index);
// Size-1 dims stretched to `sizes` (stride 0); -1 keeps a size; new leading dims may be added.
Tensor expand(const Tensor& input, const Shape& sizes);
Tensor squeeze(const Tensor& input);
Tensor squeeze(const Tensor& input, std::int64_t dim);
Tensor unsqueeze(const Tensor& input, std::int64_t dim);
Tensor flatten(const Tensor& input, std::int64_t start_dim = 0, std::int64_t end_dim = -1);

}  // namespace ember
