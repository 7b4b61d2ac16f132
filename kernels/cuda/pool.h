#pragma once
// 2-D max and average pooling on the GPU, with the CPU kernels' contract (kernels/cpu/pool.h).
// Forward: one thread per output element. Backward: one thread per input element, which adds
// the gradients of the windows covering it in window order: no atomics, the same sums as the
// CPU's on every run.
#include <cstdint>

#include "core/scalar_type.h"
#include "kernels/pool_geometry.h"

namespace ember::kernels::cuda {

void max_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out, std::int64_t* indices);
void max_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, const std::int64_t* indices,
                         void* grad_in);
void avg_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out);
void avg_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, void* grad_in);

}  // namespace ember::kernels::cuda
