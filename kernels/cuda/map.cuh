#pragma once
// map(): the launcher behind every elementwise CUDA kernel, the GPU twin of kernels/cpu/loops.h.
//
// After coalescing (kernels/coalesce.h), a loop whose operands are all contiguous and 16-byte
// aligned runs the vectorized kernel: each thread loads 16 bytes of every operand at once (one
// 128-bit transaction) and keeps several loads in flight. Anything else runs the strided kernel,
// which turns each linear index into per-operand offsets.
#include <cstdint>
#include <utility>

#include "kernels/coalesce.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/stream.h"

namespace ember::kernels::cuda {

constexpr int kMaxDims = 8;
constexpr int kBlockThreads = 256;

// Operand geometry passed to the strided kernel by value.
template <int N>
struct StridedGeometry {
  int dims;
  std::int64_t sizes[kMaxDims];
  std::int64_t strides[N][kMaxDims];
};

// A grid of at most a few waves over `work` items, each thread striding through the rest.
inline unsigned grid_for(std::int64_t work) {
  const std::int64_t blocks = (work + kBlockThreads - 1) / kBlockThreads;
  const std::int64_t cap = static_cast<std::int64_t>(multiprocessor_count()) * 8;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks < cap ? blocks : cap));
}

// for (index = this thread's first item; index < total; index += all threads of the grid)
#define EMBER_GRID_STRIDE_LOOP(index, total)                                                      \
  for (std::int64_t index = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; \
       index < (total); index += static_cast<std::int64_t>(gridDim.x) * blockDim.x)

// The inputs' base pointers, by value in the kernel's parameters.
template <std::size_t M>
struct InputPointers {
  const char* data[M > 0 ? M : 1];
};

template <class Out, class... In, class F, std::size_t... I>
__device__ inline void apply_at(F& f, char* out, const InputPointers<sizeof...(In)>& in, const std::int64_t* offsets,
                                std::index_sequence<I...>) {
  reinterpret_cast<Out*>(out)[offsets[0]] = f(reinterpret_cast<const In*>(in.data[I])[offsets[I + 1]]...);
}

template <class Out, class F, class... In>
__global__ void strided_kernel(std::int64_t n, StridedGeometry<sizeof...(In) + 1> g, Out* out,
                               InputPointers<sizeof...(In)> in, F f) {
  constexpr int N = sizeof...(In) + 1;
  for (std::int64_t linear = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; linear < n;
       linear += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    std::int64_t offsets[N] = {};
    std::int64_t rest = linear;
    for (int d = g.dims - 1; d >= 0; --d) {
      const std::int64_t index = rest % g.sizes[d];
      rest /= g.sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) offsets[k] += index * g.strides[k][d];
    }
    apply_at<Out, In...>(f, reinterpret_cast<char*>(out), in, offsets, std::index_sequence_for<In...>{});
  }
}

// Elements per thread per step: 16 bytes of the widest operand.
template <class Out, class... In>
__host__ __device__ constexpr int vector_width() {
  std::size_t widest = sizeof(Out);
  ((widest = sizeof(In) > widest ? sizeof(In) : widest), ...);
  return static_cast<int>(16 / widest < 1 ? 1 : 16 / widest);
}

template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T values[V];
};

// result[v] = f(packs[v]...); the packs arrive by value, so each was one 16-byte load.
template <class Out, int V, class F, class... Packs>
__device__ inline void apply_packs(Pack<Out, V>& result, F& f, Packs... packs) {
#pragma unroll
  for (int v = 0; v < V; ++v) result.values[v] = f(packs.values[v]...);
}

template <class Out, class F, class... In>
__global__ void vectorized_kernel(std::int64_t n, Out* out, F f, const In*... in) {
  constexpr int V = vector_width<Out, In...>();
  const std::int64_t packs = n / V;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t p = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; p < packs; p += stride) {
    Pack<Out, V> result;
    apply_packs(result, f, reinterpret_cast<const Pack<In, V>*>(in)[p]...);
    reinterpret_cast<Pack<Out, V>*>(out)[p] = result;
  }
  // The tail that does not fill a pack.
  for (std::int64_t i = packs * V + blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    out[i] = f(in[i]...);
  }
}

inline bool aligned16(const void* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % 16 == 0; }

// out = f(in...) over `sizes` on the current stream. Out and In... are device element types.
template <class Out, class... In, class F, class... Operands>
void map(const Sizes& sizes, F f, const Operand& out, const Operands&... in) {
  constexpr std::size_t N = sizeof...(In) + 1;
  std::int64_t n = 1;
  for (std::int64_t size : sizes) n *= size;
  if (n == 0) return;
  const CoalescedLoop<N> loop = coalesce<N>(sizes, {&out.strides, &in.strides...});
  const int dims = static_cast<int>(loop.sizes.size());
  bool contiguous = dims == 1 && aligned16(out.data) && (aligned16(in.data) && ...);
  for (std::size_t k = 0; k < N; ++k) contiguous = contiguous && loop.strides[k][0] == 1;
  const cudaStream_t stream = current_stream();
  if (contiguous) {
    vectorized_kernel<Out, F, In...><<<grid_for(n / vector_width<Out, In...>() + 1), kBlockThreads, 0, stream>>>(
        n, static_cast<Out*>(out.data), f, static_cast<const In*>(in.data)...);
  } else {
    EMBER_CHECK(dims <= kMaxDims, "CUDA elementwise: ", dims, " dims that cannot be merged (at most ", kMaxDims, ")");
    StridedGeometry<N> g{};
    g.dims = dims;
    for (int d = 0; d < dims; ++d) {
      g.sizes[d] = loop.sizes[d];
      for (std::size_t k = 0; k < N; ++k) g.strides[k][d] = loop.strides[k][d];
    }
    const InputPointers<sizeof...(In)> pointers{{static_cast<const char*>(in.data)...}};
    strided_kernel<Out, F, In...><<<grid_for(n), kBlockThreads, 0, stream>>>(n, g, static_cast<Out*>(out.data),
                                                                            pointers, f);
  }
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace ember::kernels::cuda
