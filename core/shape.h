#pragma once
// Shapes and strides: plain vectors of int64, with the arithmetic every op needs.
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

using Shape = std::vector<std::int64_t>;

std::int64_t numel(const Shape& sizes);
// Row-major strides, in elements, for a tensor of these sizes.
Shape contiguous_strides(const Shape& sizes);
// "[2, 3]"; used in every error message that names a shape.
std::string to_string(const Shape& sizes);
// NumPy broadcasting of two shapes; an Error naming `op` and both shapes if they do not broadcast.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// Maps a possibly negative dim into [0, ndim); an Error naming `op` when out of range.
std::int64_t normalize_dim(const char* op, std::int64_t dim, std::int64_t ndim);

}  // namespace ember
