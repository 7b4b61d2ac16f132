#pragma once
// block_reduce(): combines one value per thread of a block into one value every thread gets
// back, through warp shuffles and a shared-memory step, in a fixed order (no atomics).
#include <cuda_runtime.h>

namespace ember::kernels::cuda {

// The combine of sums.
struct Plus {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};

// `combine` is associative (max, +). blockDim.x must be a multiple of 32, at most 1024.
template <class T, class Combine>
__device__ inline T block_reduce(T value, Combine combine) {
  __shared__ T partials[32];
  for (int shift = 16; shift > 0; shift /= 2) value = combine(value, __shfl_down_sync(0xffffffffu, value, shift));
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // partials may still be read by a previous call
  if (lane == 0) partials[warp] = value;
  __syncthreads();
  value = partials[0];
  for (unsigned w = 1; w < warps; ++w) value = combine(value, partials[w]);
  return value;
}

}  // namespace ember::kernels::cuda
