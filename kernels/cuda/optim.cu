#include <array>
#include <cmath>

#include "kernels/cuda/check.h"
#include "kernels/cuda/multi_tensor.cuh"
#include "kernels/cuda/optim.h"

namespace ember::kernels::cuda {

namespace {

template <class T>
struct AdamConstants {
  T step_size, inv_sqrt_bc2, beta1, beta2, eps, weight_decay, decay;
  bool decoupled;
};

template <class T>
__global__ void adam_kernel(TensorChunks<4> chunks, AdamConstants<T> k) {
  const int tensor = chunks.block_tensor[blockIdx.x];
  const std::int64_t begin = chunks.block_chunk[blockIdx.x] * kChunk;
  const std::int64_t end = min(begin + kChunk, chunks.sizes[tensor]);
  T* p = static_cast<T*>(chunks.pointers[0][tensor]);
  const T* g = static_cast<const T*>(chunks.pointers[1][tensor]);
  T* m = static_cast<T*>(chunks.pointers[2][tensor]);
  T* v = static_cast<T*>(chunks.pointers[3][tensor]);
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    T gi = g[i];
    T pi = p[i];
    if (k.decoupled) {
      pi *= k.decay;
    } else {
      gi += k.weight_decay * pi;
    }
    const T mi = k.beta1 * m[i] + (T(1) - k.beta1) * gi;
    const T vi = k.beta2 * v[i] + (T(1) - k.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * mi / (sqrt(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}

template <class T>
struct SgdConstants {
  T lr, weight_decay, momentum, keep;
  bool use_momentum, nesterov, first_step;
};

template <class T>
__global__ void sgd_kernel(TensorChunks<3> chunks, SgdConstants<T> k) {
  const int tensor = chunks.block_tensor[blockIdx.x];
  const std::int64_t begin = chunks.block_chunk[blockIdx.x] * kChunk;
  const std::int64_t end = min(begin + kChunk, chunks.sizes[tensor]);
  T* p = static_cast<T*>(chunks.pointers[0][tensor]);
  const T* g = static_cast<const T*>(chunks.pointers[1][tensor]);
  T* buf = static_cast<T*>(chunks.pointers[2][tensor]);
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    T gi = g[i] + k.weight_decay * p[i];
    if (k.use_momentum) {
      const T bi = k.first_step ? gi : k.momentum * buf[i] + k.keep * gi;
      buf[i] = bi;
      gi = k.nesterov ? gi + k.momentum * bi : bi;
    }
    p[i] -= k.lr * gi;
  }
}

template <class T>
__global__ void unscale_kernel(TensorChunks<1> chunks, T inv_scale, int* found_inf) {
  const int tensor = chunks.block_tensor[blockIdx.x];
  const std::int64_t begin = chunks.block_chunk[blockIdx.x] * kChunk;
  const std::int64_t end = min(begin + kChunk, chunks.sizes[tensor]);
  T* x = static_cast<T*>(chunks.pointers[0][tensor]);
  bool found = false;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    found |= !isfinite(x[i]);
    x[i] *= inv_scale;
  }
  // Every writer stores the same 1, so the order of the stores does not matter.
  if (found) *found_inf = 1;
}

void check_master_dtype(DType dtype, const char* op) {
  EMBER_CHECK(dtype == DType::f32 || dtype == DType::f64, op, ": expected f32 or f64 (master weights), got ", dtype);
}

// run.template operator()<T>() with T the element type of the (checked) master dtype.
template <class Run>
void with_master_type(DType dtype, Run& run) {
  if (dtype == DType::f32) {
    run.template operator()<float>();
  } else {
    run.template operator()<double>();
  }
}

}  // namespace

void adam_step(DType dtype, const std::vector<AdamTensors>& tensors, const cpu::AdamHyper& hyper) {
  check_master_dtype(dtype, "adam");
  std::vector<std::array<void*, 4>> pointers;
  std::vector<std::int64_t> sizes;
  for (const AdamTensors& t : tensors) {
    pointers.push_back({t.param, const_cast<void*>(t.grad), t.exp_avg, t.exp_avg_sq});
    sizes.push_back(t.n);
  }
  const double step = static_cast<double>(hyper.step);
  auto run = [&]<class T>() {
    const AdamConstants<T> k{static_cast<T>(hyper.lr / (1.0 - std::pow(hyper.beta1, step))),
                             static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(hyper.beta2, step))),
                             static_cast<T>(hyper.beta1),
                             static_cast<T>(hyper.beta2),
                             static_cast<T>(hyper.eps),
                             static_cast<T>(hyper.weight_decay),
                             static_cast<T>(1.0 - hyper.lr * hyper.weight_decay),
                             hyper.decoupled_weight_decay};
    multi_tensor_apply<4>(pointers, sizes, [&](const TensorChunks<4>& chunks, int blocks) {
      adam_kernel<T><<<blocks, kMultiTensorThreads, 0, current_stream()>>>(chunks, k);
    });
  };
  with_master_type(dtype, run);
}

void sgd_step(DType dtype, const std::vector<SgdTensors>& tensors, const cpu::SgdHyper& hyper) {
  check_master_dtype(dtype, "sgd");
  std::vector<std::array<void*, 3>> pointers;
  std::vector<std::int64_t> sizes;
  for (const SgdTensors& t : tensors) {
    pointers.push_back({t.param, const_cast<void*>(t.grad), t.momentum_buffer});
    sizes.push_back(t.n);
  }
  auto run = [&]<class T>() {
    const SgdConstants<T> k{static_cast<T>(hyper.lr),       static_cast<T>(hyper.weight_decay),
                            static_cast<T>(hyper.momentum), static_cast<T>(1.0 - hyper.dampening),
                            hyper.momentum != 0,            hyper.nesterov,
                            hyper.first_step};
    multi_tensor_apply<3>(pointers, sizes, [&](const TensorChunks<3>& chunks, int blocks) {
      sgd_kernel<T><<<blocks, kMultiTensorThreads, 0, current_stream()>>>(chunks, k);
    });
  };
  with_master_type(dtype, run);
}

bool unscale_and_check_finite(DType dtype, const std::vector<void*>& grads, const std::vector<std::int64_t>& sizes,
                              float inv_scale) {
  check_master_dtype(dtype, "GradScaler.unscale_");
  int* found_inf = nullptr;
  const cudaStream_t stream = current_stream();
  EMBER_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&found_inf), sizeof(int), stream));
  EMBER_CUDA_CHECK(cudaMemsetAsync(found_inf, 0, sizeof(int), stream));
  std::vector<std::array<void*, 1>> pointers;
  for (void* grad : grads) pointers.push_back({grad});
  auto run = [&]<class T>() {
    multi_tensor_apply<1>(pointers, sizes, [&](const TensorChunks<1>& chunks, int blocks) {
      unscale_kernel<T><<<blocks, kMultiTensorThreads, 0, stream>>>(chunks, static_cast<T>(inv_scale), found_inf);
    });
  };
  with_master_type(dtype, run);
  int found = 0;
  EMBER_CUDA_CHECK(cudaMemcpyAsync(&found, found_inf, sizeof(int), cudaMemcpyDeviceToHost, stream));
  EMBER_CUDA_CHECK(cudaFreeAsync(found_inf, stream));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(stream));
  return found != 0;
}

}  // namespace ember::kernels::cuda
