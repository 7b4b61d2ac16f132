// Reductions on the GPU, with the CPU kernel's contract (kernels/reduce.h): the first
// `kept` dims of `sizes` index the outputs, the rest are reduced. One block per output; threads
// combine their partial results through warp shuffles and shared memory in a fixed tree, with
// no atomics, so a sum is the same on every run.
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/reduce.h"

namespace ember::kernels::cuda {

namespace {

constexpr int kReduceThreads = 256;

// Where the reduced elements of output o live: the kept dims give a base offset, the reduced
// dims an offset per flat position r.
struct ReduceGeometry {
  int kept, dims;
  std::int64_t sizes[kMaxDims];
  std::int64_t strides[kMaxDims];
};

__device__ inline std::int64_t offset_of(const ReduceGeometry& g, std::int64_t flat, int begin, int end) {
  std::int64_t offset = 0;
  for (int d = end - 1; d >= begin; --d) {
    offset += (flat % g.sizes[d]) * g.strides[d];
    flat /= g.sizes[d];
  }
  return offset;
}

template <class T>
__device__ inline bool is_nan(T value) {
  if constexpr (std::is_floating_point_v<compute_t<T>>) {
    return isnan(static_cast<compute_t<T>>(value));
  } else {
    return false;
  }
}

// A candidate extreme: its value and flat position. Combining two keeps NaN first, then the
// larger (max) or smaller (min) value, then the lower position: the same answer in any order.
template <class C>
struct Extreme {
  C value;
  std::int64_t at;
  bool nan;
};

template <bool want_max, class C>
__device__ inline Extreme<C> better_of(const Extreme<C>& a, const Extreme<C>& b) {
  if (a.at < 0) return b;  // an empty candidate (a thread that saw no element)
  if (b.at < 0) return a;
  if (a.nan != b.nan) return a.nan ? a : b;
  if (!a.nan && a.value != b.value) return (want_max ? a.value > b.value : a.value < b.value) ? a : b;
  return a.at < b.at ? a : b;
}

template <class T, class Acc>
__global__ void sum_kernel(ReduceGeometry g, std::int64_t count, const T* in, Acc* out_acc, T* out) {
  const std::int64_t o = blockIdx.x;
  const T* base = in + offset_of(g, o, 0, g.kept);
  Acc total = 0;
  for (std::int64_t r = threadIdx.x; r < count; r += blockDim.x) {
    total += static_cast<Acc>(static_cast<compute_t<T>>(base[offset_of(g, r, g.kept, g.dims)]));
  }
  // Warp tree, then one partial per warp in shared memory, reduced by the first warp.
  __shared__ Acc partials[kReduceThreads / 32];
  for (int shift = 16; shift > 0; shift /= 2) total += __shfl_down_sync(0xffffffffu, total, shift);
  if (threadIdx.x % 32 == 0) partials[threadIdx.x / 32] = total;
  __syncthreads();
  if (threadIdx.x < 32) {
    total = threadIdx.x < blockDim.x / 32 ? partials[threadIdx.x] : Acc(0);
    for (int shift = 16; shift > 0; shift /= 2) total += __shfl_down_sync(0xffffffffu, total, shift);
    if (threadIdx.x == 0) {
      if (out_acc != nullptr) {
        out_acc[o] = total;
      } else {
        out[o] = static_cast<T>(static_cast<compute_t<T>>(total));
      }
    }
  }
}

// __shfl_down_sync has no overload for 1- and 2-byte integers: those travel as int.
template <class C>
__device__ inline C shuffle_down(C value, int shift) {
  if constexpr (sizeof(C) < 4) {
    return static_cast<C>(__shfl_down_sync(0xffffffffu, static_cast<int>(value), shift));
  } else {
    return __shfl_down_sync(0xffffffffu, value, shift);
  }
}

template <class T, bool want_max>
__global__ void extreme_kernel(ReduceGeometry g, std::int64_t count, const T* in, T* out, std::int64_t* indices) {
  using C = compute_t<T>;
  const std::int64_t o = blockIdx.x;
  const T* base = in + offset_of(g, o, 0, g.kept);
  Extreme<C> best{C(0), -1, false};
  for (std::int64_t r = threadIdx.x; r < count; r += blockDim.x) {
    const T v = base[offset_of(g, r, g.kept, g.dims)];
    best = better_of<want_max>(best, Extreme<C>{static_cast<C>(v), r, is_nan(v)});
  }
  __shared__ Extreme<C> partials[kReduceThreads / 32];
  for (int shift = 16; shift > 0; shift /= 2) {
    const Extreme<C> other{shuffle_down(best.value, shift), shuffle_down(best.at, shift),
                           shuffle_down(best.nan, shift)};
    best = better_of<want_max>(best, other);
  }
  if (threadIdx.x % 32 == 0) partials[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (unsigned w = 1; w < blockDim.x / 32; ++w) best = better_of<want_max>(best, partials[w]);
    out[o] = static_cast<T>(best.value);
    if (indices != nullptr) indices[o] = best.at;
  }
}

ReduceGeometry geometry(const Sizes& sizes, std::size_t kept, const Sizes& strides) {
  EMBER_CHECK(sizes.size() <= static_cast<std::size_t>(kMaxDims), "CUDA reduce: at most ", kMaxDims,
              " dims, got ", sizes.size());
  ReduceGeometry g{};
  g.kept = static_cast<int>(kept);
  g.dims = static_cast<int>(sizes.size());
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    g.sizes[d] = sizes[d];
    g.strides[d] = strides[d];
  }
  return g;
}

template <class T>
void reduce_typed(ReduceOp op, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
                  std::int64_t* indices) {
  std::int64_t outputs = 1, count = 1;
  for (std::size_t d = 0; d < sizes.size(); ++d) (d < kept ? outputs : count) *= sizes[d];
  if (outputs == 0) return;
  const ReduceGeometry g = geometry(sizes, kept, in.strides);
  const T* data = static_cast<const T*>(in.data);
  const cudaStream_t stream = current_stream();
  const auto blocks = static_cast<unsigned>(outputs);
  if (op == ReduceOp::sum) {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      // f64 accumulation, as on the CPU, keeps long f32 sums accurate.
      sum_kernel<T, double><<<blocks, kReduceThreads, 0, stream>>>(g, count, data, nullptr, static_cast<T*>(out));
    } else {
      sum_kernel<T, std::int64_t><<<blocks, kReduceThreads, 0, stream>>>(g, count, data,
                                                                         static_cast<std::int64_t*>(out), nullptr);
    }
  } else {
    EMBER_CHECK(count > 0, "max/min: cannot reduce over zero elements");
    if (op == ReduceOp::max) {
      extreme_kernel<T, true><<<blocks, kReduceThreads, 0, stream>>>(g, count, data, static_cast<T*>(out), indices);
    } else {
      extreme_kernel<T, false><<<blocks, kReduceThreads, 0, stream>>>(g, count, data, static_cast<T*>(out), indices);
    }
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
            std::int64_t* indices) {
  dispatch_all(dtype, "reduce", [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      // bool sums count the true elements; max/min of bools are any/all.
      reduce_typed<std::uint8_t>(op, sizes, kept, in, out, indices);
    } else {
      reduce_typed<T>(op, sizes, kept, in, out, indices);
    }
  });
}

}  // namespace ember::kernels::cuda
