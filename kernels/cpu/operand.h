#pragma once
// How kernels see a tensor: a pointer to element 0 and a stride (in elements) per dim.
// The sizes are passed once per call, shared by every operand (already broadcast).
#include <cstdint>
#include <vector>

namespace ember::kernels {

using Sizes = std::vector<std::int64_t>;

struct Operand {
  void* data;
  Sizes strides;
};

}  // namespace ember::kernels
