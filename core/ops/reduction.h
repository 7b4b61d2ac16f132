#pragma once
// Reductions over all elements or over chosen dims (keepdim keeps them as size 1).
// An empty `dims` list means every dim, as in PyTorch.
#include "core/tensor.h"

namespace ember {

// Floating inputs keep their dtype; integer and bool inputs sum to i64.
Tensor sum(const Tensor& input);
Tensor sum(const Tensor& input, const Shape& dims, bool keepdim = false);
Tensor mean(const Tensor& input);
Tensor mean(const Tensor& input, const Shape& dims, bool keepdim = false);
// Variance with Bessel's correction by default (divide by N - correction).
Tensor var(const Tensor& input, const Shape& dims, std::int64_t correction = 1, bool keepdim = false);

// Largest / smallest value overall, or along one dim. NaN wins, as in PyTorch. Along a dim the
// gradient flows to the first position holding the extreme (the index max returns); overall it
// is split evenly among the positions holding it (among the NaNs for NaN), PyTorch's rules both.
Tensor max(const Tensor& input);
Tensor max(const Tensor& input, std::int64_t dim, bool keepdim = false);
Tensor min(const Tensor& input);
Tensor min(const Tensor& input, std::int64_t dim, bool keepdim = false);
// Position (i64) of the first largest / smallest value along dim, or in the flattened input.
Tensor argmax(const Tensor& input);
Tensor argmax(const Tensor& input, std::int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& input);  // over all elements, as argmax(input): an index into the flattened input
Tensor argmin(const Tensor& input, std::int64_t dim, bool keepdim = false);

}  // namespace ember
