#pragma once
// Joining tensors along a dim.
#include <vector>

#include "core/tensor.h"

namespace ember {

// Concatenates along an existing dim; every other dim must match.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
// Joins along a new dim; all shapes must be equal.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);

}  // namespace ember
