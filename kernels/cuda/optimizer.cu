// Fused multi-tensor optimizer kernels on the GPU (kernels/optimizer.h): one launch covers the
// chunks of many tensors (kernels/cuda/multi_tensor.cuh), every element through the formula of
// kernels/optimizer_formulas.h, so both devices compute the same update.
#include <array>

#include "kernels/cuda/check.h"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/optimizer.h"

namespace ember::kernels::cuda {

namespace {

// The element range [begin, end) of this block's chunk.
template <int Pointers>
__device__ void block_range(const TensorChunks<Pointers>& chunks, int& tensor, std::int64_t& begin,
                            std::int64_t& end) {
  tensor = chunks.block_tensor[blockIdx.x];
  begin = chunks.block_chunk[blockIdx.x] * kChunk;
  end = min(begin + kChunk, chunks.sizes[tensor]);
}

template <class T>
__global__ void adam_kernel(TensorChunks<5> chunks, AdamCoefficients<T> k) {
  int tensor;
  std::int64_t begin, end;
  block_range(chunks, tensor, begin, end);
  T* p = static_cast<T*>(chunks.pointers[0][tensor]);
  const T* g = static_cast<const T*>(chunks.pointers[1][tensor]);
  T* m = static_cast<T*>(chunks.pointers[2][tensor]);
  T* v = static_cast<T*>(chunks.pointers[3][tensor]);
  T* v_max = static_cast<T*>(chunks.pointers[4][tensor]);
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    adam_update(p[i], g[i], m[i], v[i], v_max ? v_max + i : nullptr, k);
  }
}

template <class T>
__global__ void sgd_kernel(TensorChunks<3> chunks, SgdCoefficients<T> k) {
  int tensor;
  std::int64_t begin, end;
  block_range(chunks, tensor, begin, end);
  T* p = static_cast<T*>(chunks.pointers[0][tensor]);
  const T* g = static_cast<const T*>(chunks.pointers[1][tensor]);
  T* buf = static_cast<T*>(chunks.pointers[2][tensor]);
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    sgd_update(p[i], g[i], buf ? buf + i : nullptr, k);
  }
}

template <class T>
__global__ void unscale_kernel(TensorChunks<1> chunks, T inv_scale, float* found_inf) {
  int tensor;
  std::int64_t begin, end;
  block_range(chunks, tensor, begin, end);
  T* x = static_cast<T*>(chunks.pointers[0][tensor]);
  bool found = false;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) found |= unscale(x[i], inv_scale);
  // Every writer stores the same 1, so the order of the stores does not matter.
  if (found) *found_inf = 1.0f;
}

}  // namespace

void adam_step(DType dtype, const std::vector<AdamTensors>& tensors, const AdamHyper& hyper) {
  std::vector<std::array<void*, 5>> pointers;
  std::vector<std::int64_t> sizes;
  for (const AdamTensors& t : tensors) {
    pointers.push_back({t.param, const_cast<void*>(t.grad), t.exp_avg, t.exp_avg_sq, t.max_exp_avg_sq});
    sizes.push_back(t.n);
  }
  with_master_type(dtype, "adam", [&]<class T>() {
    const AdamCoefficients<T> k = adam_coefficients<T>(hyper);
    multi_tensor_apply<5>(pointers, sizes, [&](const TensorChunks<5>& chunks, int blocks) {
      adam_kernel<T><<<blocks, kMultiTensorThreads, 0, current_stream()>>>(chunks, k);
    });
  });
}

void sgd_step(DType dtype, const std::vector<SgdTensors>& tensors, const SgdHyper& hyper) {
  std::vector<std::array<void*, 3>> pointers;
  std::vector<std::int64_t> sizes;
  for (const SgdTensors& t : tensors) {
    pointers.push_back({t.param, const_cast<void*>(t.grad), t.momentum_buffer});
    sizes.push_back(t.n);
  }
  with_master_type(dtype, "sgd", [&]<class T>() {
    const SgdCoefficients<T> k = sgd_coefficients<T>(hyper);
    multi_tensor_apply<3>(pointers, sizes, [&](const TensorChunks<3>& chunks, int blocks) {
      sgd_kernel<T><<<blocks, kMultiTensorThreads, 0, current_stream()>>>(chunks, k);
    });
  });
}

void unscale_and_check_finite(DType dtype, const std::vector<UnscaleTensor>& grads, double inv_scale,
                              float* found_inf) {
  std::vector<std::array<void*, 1>> pointers;
  std::vector<std::int64_t> sizes;
  for (const UnscaleTensor& t : grads) {
    pointers.push_back({t.grad});
    sizes.push_back(t.n);
  }
  with_master_type(dtype, "GradScaler.unscale_", [&]<class T>() {
    const T factor = static_cast<T>(static_cast<float>(inv_scale));
    multi_tensor_apply<1>(pointers, sizes, [&](const TensorChunks<1>& chunks, int blocks) {
      unscale_kernel<T><<<blocks, kMultiTensorThreads, 0, current_stream()>>>(chunks, factor, found_inf);
    });
  });
}

}  // namespace ember::kernels::cuda
