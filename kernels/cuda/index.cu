// Index kernels on the GPU, with the CPU kernels' contract (kernels/index.h): contiguous
// buffers seen as [outer, n, inner]; index values already range-checked by the op layer.
//
// The accumulating kernels use no atomics, so their sums are the same on every run and equal to
// the CPU's. index_add (the backward of index_select, so of Embedding) sorts the index with
// CUB's radix sort, then one thread per (output row, column) adds that row's sources in order:
// O(count x inner) work however large the table. scatter_add gives each output element to one
// thread, which walks its column of the index and adds the sources that land on it (fine for
// the handful of classes of the losses' gathers). scatter (assignment) gives each source to one
// thread.
#include <cub/device/device_radix_sort.cuh>

#include <limits>

#include "kernels/cuda/dispatch.cuh"
#include "kernels/index.h"
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

// After sorting the index (stably: equal rows keep their source order), the sources of one
// output row form a run. One thread per (outer, run start, inner) adds its run in order:
//   out[o, k, i] += src[o, j1, i] + src[o, j2, i] + ...   for the j (ascending) with index[j] == k.
template <class T>
__global__ void index_add_sorted_kernel(std::int64_t total, std::int64_t out_n, std::int64_t count,
                                        std::int64_t inner, T* out, const std::int64_t* sorted_rows,
                                        const std::int64_t* source_order, const T* src) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const std::int64_t i = e % inner, p = (e / inner) % count, o = e / (inner * count);
    const std::int64_t row = sorted_rows[p];
    if (p > 0 && sorted_rows[p - 1] == row) continue;  // not the start of a run
    T* target = out + (o * out_n + row) * inner + i;
    C sum = static_cast<C>(*target);
    for (std::int64_t q = p; q < count && sorted_rows[q] == row; ++q) {
      sum += static_cast<C>(src[(o * count + source_order[q]) * inner + i]);
    }
    *target = static_cast<T>(sum);
  }
}

__global__ void iota_kernel(std::int64_t count, std::int64_t* values) {
  EMBER_GRID_STRIDE_LOOP(j, count) values[j] = j;
}

// Bits needed to hold every value in [0, n): the radix sort only looks at those.
int bits_for(std::int64_t n) {
  int bits = 1;
  while (bits < 63 && (std::int64_t{1} << bits) < n) ++bits;
  return bits;
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

// One thread per source element of [outer, n, inner]; a repeated index races, and one source wins.
template <class T>
__global__ void scatter_kernel(std::int64_t total, std::int64_t out_n, std::int64_t n, std::int64_t inner, T* out,
                               const std::int64_t* index, const T* src) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e % inner, o = e / (inner * n);
    out[(o * out_n + index[e]) * inner + i] = src[e];
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
  const std::int64_t total = outer * count * inner;
  if (total == 0) return;
  EMBER_CHECK(count <= std::numeric_limits<int>::max(), "index_add: at most 2^31 - 1 indices on CUDA, got ", count);
  const cudaStream_t stream = current_stream();
  // One scratch block: sorted rows, source order before and after the sort, then CUB's storage.
  const auto n = static_cast<int>(count);
  const std::size_t list_bytes = static_cast<std::size_t>(count) * sizeof(std::int64_t);
  std::size_t sort_bytes = 0;
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, index, static_cast<std::int64_t*>(nullptr),
                                                   static_cast<const std::int64_t*>(nullptr),
                                                   static_cast<std::int64_t*>(nullptr), n, 0, bits_for(out_n),
                                                   stream));
  char* scratch = nullptr;
  EMBER_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&scratch), 3 * list_bytes + sort_bytes, stream));
  auto* sorted_rows = reinterpret_cast<std::int64_t*>(scratch);
  auto* order_in = reinterpret_cast<std::int64_t*>(scratch + list_bytes);
  auto* order_out = reinterpret_cast<std::int64_t*>(scratch + 2 * list_bytes);
  iota_kernel<<<grid_for(count), kBlockThreads, 0, stream>>>(count, order_in);
  EMBER_CUDA_CHECK_LAUNCH();
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(scratch + 3 * list_bytes, sort_bytes, index, sorted_rows, order_in,
                                                   order_out, n, 0, bits_for(out_n), stream));
  dispatch_floating(dtype, "index_add", [&]<class T>() {
    index_add_sorted_kernel<T><<<grid_for(total), kBlockThreads, 0, stream>>>(
        total, out_n, count, inner, static_cast<T*>(out), sorted_rows, order_out, static_cast<const T*>(src));
  });
  EMBER_CUDA_CHECK_LAUNCH();
  EMBER_CUDA_CHECK(cudaFreeAsync(scratch, stream));
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

void scatter(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner, void* out,
             const std::int64_t* index, const void* src) {
  const std::int64_t total = outer * n * inner;
  if (total == 0) return;
  dispatch_all(dtype, "scatter", [&]<class T>() {
    scatter_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
        total, out_n, n, inner, static_cast<T*>(out), index, static_cast<const T*>(src));
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
