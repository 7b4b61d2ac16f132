#pragma once
// How kernels see a tensor: a pointer to element 0 and a stride (in elements) per dim. The
// sizes are passed once per call, shared by every operand (already broadcast).
#include <cstdint>
#include <vector>

namespace ember::kernels {

using Sizes = std::vector<std::int64_t>;

struct Operand {
  void* data;
  Sizes strides;
};

// How the GEMMs see a matrix: element (i, j) is at data[i * row_stride + j * col_stride]. They
// read either layout BLAS libraries know without a copy: row-major (col_stride == 1) or
// column-major (row_stride == 1), which covers contiguous matrices and their transposes.
struct MatrixRef {
  const void* data;
  std::int64_t row_stride;
  std::int64_t col_stride;
};

}  // namespace ember::kernels
