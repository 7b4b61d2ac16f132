#include "kernels/cpu/softmax.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"

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

}  // namespace ember::kernels::cpu
