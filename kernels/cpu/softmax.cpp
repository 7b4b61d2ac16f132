#include "kernels/softmax.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

void softmax(DType dtype, std::int64_t rows, std::int64_t cols, const void* in, void* out, bool log) {
  dispatch_floating(dtype, "softmax", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    parallel_for(rows, cols, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const T* row = x + r * cols;
        T* result = y + r * cols;
        C max = -std::numeric_limits<C>::infinity();
        for (std::int64_t c = 0; c < cols; ++c) max = std::max(max, static_cast<C>(row[c]));
        if (std::isinf(max) && max < 0) max = 0;  // an all -inf row: keep exp(-inf - 0) = 0
        C total = 0;
        for (std::int64_t c = 0; c < cols; ++c) total += std::exp(static_cast<C>(row[c]) - max);
        if (log) {
          const C log_total = std::log(total);
          for (std::int64_t c = 0; c < cols; ++c) result[c] = static_cast<T>(static_cast<C>(row[c]) - max - log_total);
        } else {
          const C scale = C(1) / total;
          for (std::int64_t c = 0; c < cols; ++c) result[c] = static_cast<T>(std::exp(static_cast<C>(row[c]) - max) * scale);
        }
      }
    });
  });
}

namespace {

}  // namespace

void cross_entropy(DType dtype, const CrossEntropyProblem& problem, const void* logits, void* losses,
                   void* log_sum_exp) {
  dispatch_floating(dtype, "cross_entropy", [&]<class T>() {
    using C = compute_t<T>;
    const std::int64_t cols = problem.cols;
    parallel_for(problem.rows, cols, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const T* row = static_cast<const T*>(logits) + r * cols;
        C max = -std::numeric_limits<C>::infinity();
        for (std::int64_t c = 0; c < cols; ++c) max = std::max(max, static_cast<C>(row[c]));
        if (std::isinf(max) && max < 0) max = 0;
        C total = 0;
        for (std::int64_t c = 0; c < cols; ++c) total += std::exp(static_cast<C>(row[c]) - max);
        const C lse = max + std::log(total);
        static_cast<C*>(log_sum_exp)[r] = lse;
        const std::int64_t label = problem.labels[r];
        C loss = 0;
        if (label != problem.ignore_index) {
          C uniform = 0;
          if (problem.label_smoothing > 0) {
            for (std::int64_t c = 0; c < cols; ++c)
              uniform += class_weight<T, C>(problem, c) * (lse - static_cast<C>(row[c]));
          }
          loss = cross_entropy_loss<C>(problem, class_weight<T, C>(problem, label), lse - static_cast<C>(row[label]),
                                       uniform);
        }
        static_cast<T*>(losses)[r] = static_cast<T>(loss);
      }
    });
  });
}

void cross_entropy_backward(DType dtype, const CrossEntropyProblem& problem, const void* grad_losses,
                            const void* logits, const void* log_sum_exp, void* grad_logits) {
  dispatch_floating(dtype, "cross_entropy_backward", [&]<class T>() {
    using C = compute_t<T>;
    const std::int64_t cols = problem.cols;
    C weight_total = static_cast<C>(cols);
    if (problem.class_weight != nullptr) {
      weight_total = 0;
      for (std::int64_t c = 0; c < cols; ++c) weight_total += class_weight<T, C>(problem, c);
    }
    parallel_for(problem.rows, cols, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const T* row = static_cast<const T*>(logits) + r * cols;
        T* grad = static_cast<T*>(grad_logits) + r * cols;
        const std::int64_t label = problem.labels[r];
        if (label == problem.ignore_index) {
          for (std::int64_t c = 0; c < cols; ++c) grad[c] = static_cast<T>(C(0));
          continue;
        }
        const C g = static_cast<C>(static_cast<const T*>(grad_losses)[r]);
        const C lse = static_cast<const C*>(log_sum_exp)[r];
        const C label_weight = class_weight<T, C>(problem, label);
        for (std::int64_t c = 0; c < cols; ++c) {
          const C p = std::exp(static_cast<C>(row[c]) - lse);
          const C d = cross_entropy_gradient<C>(problem, p, c == label, label_weight, class_weight<T, C>(problem, c),
                                                weight_total);
          grad[c] = static_cast<T>(g * d);
        }
      }
    });
  });
}

}  // namespace ember::kernels::cpu
