#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/cuda/softmax.h"

namespace ember::kernels::cuda {

namespace {

struct Max {
  template <class C>
  __device__ C operator()(C a, C b) const { return a > b || isnan(a) ? a : b; }
};
struct Sum {
  template <class C>
  __device__ C operator()(C a, C b) const { return a + b; }
};

template <class T, bool log>
__global__ void softmax_kernel(std::int64_t cols, const T* in, T* out) {
  using C = compute_t<T>;
  const T* row = in + blockIdx.x * cols;
  T* result = out + blockIdx.x * cols;
  C max = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) max = Max{}(max, static_cast<C>(row[j]));
  max = block_reduce(max, Max{});
  C total = 0;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) total += exp(static_cast<C>(row[j]) - max);
  total = block_reduce(total, Sum{});
  if constexpr (log) {
    const C log_total = ::log(total);
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      result[j] = static_cast<T>(static_cast<C>(row[j]) - max - log_total);
    }
  } else {
    const C inverse = C(1) / total;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      result[j] = static_cast<T>(exp(static_cast<C>(row[j]) - max) * inverse);
    }
  }
}

}  // namespace

void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log) {
  if (rows == 0 || cols == 0) return;
  // Enough threads to cover a short row in one pass; 1024 for long rows.
  const unsigned threads = cols >= 1024 ? 1024u : static_cast<unsigned>((cols + 31) / 32 * 32);
  dispatch_floating(dtype, "softmax", [&]<class T>() {
    const auto blocks = static_cast<unsigned>(rows);
    if (log) {
      softmax_kernel<T, true><<<blocks, threads, 0, current_stream()>>>(cols, static_cast<const T*>(in),
                                                                        static_cast<T*>(out));
    } else {
      softmax_kernel<T, false><<<blocks, threads, 0, current_stream()>>>(cols, static_cast<const T*>(in),
                                                                         static_cast<T*>(out));
    }
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace ember::kernels::cuda
