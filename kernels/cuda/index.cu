#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/index.h"
#include "kernels/cuda/map.cuh"

namespace ember::kernels::cuda {

namespace {

// One thread per output element of [outer, count, inner].
template <class T>
__global__ void index_select_kernel(std::int64_t total, std::int64_t in_n, std::int64_t count, std::int64_t inner,
                                    const T* in, const std::int64_t* index, T* out) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e % inner, j = (e / inner) % count, o = e / (inner * count);
    out[e] = in[(o * in_n + index[j]) * inner + i];
  }
}

// out[o, k, i] += sum of src[o, j, i] over the j (in order) whose index is k.
template <class T>
__global__ void index_add_kernel(std::int64_t total, std::int64_t out_n, std::int64_t count, std::int64_t inner,
                                 T* out, const std::int64_t* index, const T* src) {
  using C = compute_t<T>;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e % inner, k = (e / inner) % out_n, o = e / (inner * out_n);
    C sum = static_cast<C>(out[e]);
    for (std::int64_t j = 0; j < count; ++j) {
      if (index[j] == k) sum += static_cast<C>(src[(o * count + j) * inner + i]);
    }
    out[e] = static_cast<T>(sum);
  }
}

template <class T>
__global__ void gather_kernel(std::int64_t total, std::int64_t in_n, std::int64_t n, std::int64_t inner, const T* in,
                              const std::int64_t* index, T* out) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e % inner, o = e / (inner * n);
    out[e] = in[(o * in_n + index[e]) * inner + i];
  }
}

// out[o, k, i] += sum of src[o, j, i] over the j (in order) with index[o, j, i] == k.
template <class T>
__global__ void scatter_add_kernel(std::int64_t total, std::int64_t out_n, std::int64_t n, std::int64_t inner, T* out,
                                   const std::int64_t* index, const T* src) {
  using C = compute_t<T>;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e % inner, k = (e / inner) % out_n, o = e / (inner * out_n);
    C sum = static_cast<C>(out[e]);
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int64_t at = (o * n + j) * inner + i;
      if (index[at] == k) sum += static_cast<C>(src[at]);
    }
    out[e] = static_cast<T>(sum);
  }
}

}  // namespace

void index_select(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t inner, const void* in,
                  const std::int64_t* index, std::int64_t count, void* out) {
  const std::int64_t total = outer * count * inner;
  if (total == 0) return;
  dispatch_all(dtype, "index_select", [&]<class T>() {
    index_select_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
        total, in_n, count, inner, static_cast<const T*>(in), index, static_cast<T*>(out));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

void index_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t inner, void* out,
               const std::int64_t* index, std::int64_t count, const void* src) {
  const std::int64_t total = outer * out_n * inner;
  if (total == 0) return;
  dispatch_floating(dtype, "index_add", [&]<class T>() {
    index_add_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
        total, out_n, count, inner, static_cast<T*>(out), index, static_cast<const T*>(src));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

void gather(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t n, std::int64_t inner, const void* in,
            const std::int64_t* index, void* out) {
  const std::int64_t total = outer * n * inner;
  if (total == 0) return;
  dispatch_all(dtype, "gather", [&]<class T>() {
    gather_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
        total, in_n, n, inner, static_cast<const T*>(in), index, static_cast<T*>(out));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

void scatter_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner, void* out,
                 const std::int64_t* index, const void* src) {
  const std::int64_t total = outer * out_n * inner;
  if (total == 0) return;
  dispatch_all(dtype, "scatter_add", [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      fail("scatter_add: not defined for bool tensors");
    } else {
      scatter_add_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
          total, out_n, n, inner, static_cast<T*>(out), index, static_cast<const T*>(src));
    }
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace ember::kernels::cuda
