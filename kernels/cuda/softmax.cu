// Softmax / log-softmax over the last dim of a contiguous [rows, cols] buffer on the GPU, with
// the CPU kernel's contract (kernels/softmax.h). One block per row: the row max, then the
// sum of exp(x - max), each by a block reduction, then one pass that writes the row. The fused
// cross-entropy works the same way, one block per row, forward and backward.
#include <cstdio>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/softmax.h"

namespace ember::kernels::cuda {

namespace {

struct Max {
  template <class C>
  __device__ C operator()(C a, C b) const { return a > b || isnan(a) ? a : b; }
};

template <class T, bool log>
__global__ void softmax_kernel(std::int64_t cols, const T* in, T* out) {
  using C = compute_t<T>;
  const T* row = in + blockIdx.x * cols;
  T* result = out + blockIdx.x * cols;
  C max = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) max = Max{}(max, static_cast<C>(row[j]));
  max = block_reduce(max, Max{});
  if (isinf(max) && max < 0) max = 0;  // an all -inf row: keep exp(-inf - 0) = 0, as the CPU does
  C total = 0;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) total += exp(static_cast<C>(row[j]) - max);
  total = block_reduce(total, Plus{});
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

// The row's log-sum-exp, in every thread of the block.
template <class T>
__device__ inline compute_t<T> row_log_sum_exp(const T* row, std::int64_t cols) {
  using C = compute_t<T>;
  C max = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) max = Max{}(max, static_cast<C>(row[j]));
  max = block_reduce(max, Max{});
  if (isinf(max) && max < 0) max = 0;
  C total = 0;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) total += exp(static_cast<C>(row[j]) - max);
  return max + ::log(block_reduce(total, Plus{}));
}

template <class T>
__global__ void cross_entropy_kernel(CrossEntropyProblem problem, const T* logits, T* losses,
                                     compute_t<T>* log_sum_exp) {
  using C = compute_t<T>;
  const std::int64_t r = blockIdx.x, cols = problem.cols;
  const T* row = logits + r * cols;
  const std::int64_t label = problem.labels[r];
  // Checked here, not on the host, so a training step does not wait for the GPU to read the
  // labels back (PyTorch's device-side assert): the kernel stops with a message, and the next
  // CUDA call raises an Error ("unspecified launch failure" or "device-side assert").
  if (label != problem.ignore_index && (label < 0 || label >= cols)) {
    if (threadIdx.x == 0) {
      printf("softmax_cross_entropy: label %lld of row %lld is out of range for %lld classes\n",
             static_cast<long long>(label), static_cast<long long>(r), static_cast<long long>(cols));
    }
    __trap();
  }
  const C lse = row_log_sum_exp(row, cols);
  C uniform = 0;
  if (problem.label_smoothing > 0 && label != problem.ignore_index) {
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      uniform += class_weight<T, C>(problem, j) * (lse - static_cast<C>(row[j]));
    }
    uniform = block_reduce(uniform, Plus{});
  }
  if (threadIdx.x != 0) return;
  log_sum_exp[r] = lse;
  C loss = 0;
  if (label != problem.ignore_index) {
    loss =
        cross_entropy_loss<C>(problem, class_weight<T, C>(problem, label), lse - static_cast<C>(row[label]), uniform);
  }
  losses[r] = static_cast<T>(loss);
}

template <class T>
__global__ void cross_entropy_backward_kernel(CrossEntropyProblem problem, const T* grad_losses, const T* logits,
                                              const compute_t<T>* log_sum_exp, T* grad_logits) {
  using C = compute_t<T>;
  const std::int64_t r = blockIdx.x, cols = problem.cols;
  const T* row = logits + r * cols;
  T* grad = grad_logits + r * cols;
  const std::int64_t label = problem.labels[r];
  if (label == problem.ignore_index) {
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) grad[j] = static_cast<T>(C(0));
    return;
  }
  C weight_total = static_cast<C>(cols);
  if (problem.class_weight != nullptr && problem.label_smoothing > 0) {
    // Each row block adds the class weights itself; only with weights and smoothing together.
    weight_total = 0;
    for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) weight_total += class_weight<T, C>(problem, j);
    weight_total = block_reduce(weight_total, Plus{});
  }
  const C g = static_cast<C>(grad_losses[r]), lse = log_sum_exp[r];
  const C label_weight = class_weight<T, C>(problem, label);
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const C p = exp(static_cast<C>(row[j]) - lse);
    const C d = cross_entropy_gradient<C>(problem, p, j == label, label_weight, class_weight<T, C>(problem, j),
                                          weight_total);
    grad[j] = static_cast<T>(g * d);
  }
}

// Enough threads to cover a short row in one pass; 1024 for long rows.
unsigned threads_for_row(std::int64_t cols) {
  return cols >= 1024 ? 1024u : static_cast<unsigned>((cols + 31) / 32 * 32);
}

}  // namespace

void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log) {
  if (rows == 0 || cols == 0) return;
  const unsigned threads = threads_for_row(cols);
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

void cross_entropy(DType dtype, const CrossEntropyProblem& problem, const void* logits, void* losses,
                   void* log_sum_exp) {
  if (problem.rows == 0) return;
  dispatch_floating(dtype, "cross_entropy", [&]<class T>() {
    cross_entropy_kernel<T><<<static_cast<unsigned>(problem.rows), threads_for_row(problem.cols), 0,
                              current_stream()>>>(problem, static_cast<const T*>(logits), static_cast<T*>(losses),
                                                  static_cast<compute_t<T>*>(log_sum_exp));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

void cross_entropy_backward(DType dtype, const CrossEntropyProblem& problem, const void* grad_losses,
                            const void* logits, const void* log_sum_exp, void* grad_logits) {
  if (problem.rows == 0) return;
  dispatch_floating(dtype, "cross_entropy_backward", [&]<class T>() {
    cross_entropy_backward_kernel<T><<<static_cast<unsigned>(problem.rows), threads_for_row(problem.cols), 0,
                                       current_stream()>>>(problem, static_cast<const T*>(grad_losses),
                                                           static_cast<const T*>(logits),
                                                           static_cast<const compute_t<T>*>(log_sum_exp),
                                                           static_cast<T*>(grad_logits));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace ember::kernels::cuda
