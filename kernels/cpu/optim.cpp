#include "kernels/cpu/optim.h"

#include <atomic>
#include <cmath>

#include "kernels/dtype.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels::cpu {

void adam_step(DType dtype, std::int64_t n, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               const AdamHyper& hyper) {
  EMBER_CHECK(dtype == DType::f32 || dtype == DType::f64, "adam: parameters must be f32 or f64 (master weights), got ",
              dtype);
  dispatch_floating(dtype, "adam", [&]<class T>() {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      T* p = static_cast<T*>(param);
      const T* g = static_cast<const T*>(grad);
      T* m = static_cast<T*>(exp_avg);
      T* v = static_cast<T*>(exp_avg_sq);
      const double t = static_cast<double>(hyper.step);
      const T step_size = static_cast<T>(hyper.lr / (1.0 - std::pow(hyper.beta1, t)));
      const T inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(hyper.beta2, t)));
      const T b1 = static_cast<T>(hyper.beta1), b2 = static_cast<T>(hyper.beta2);
      const T eps = static_cast<T>(hyper.eps), wd = static_cast<T>(hyper.weight_decay);
      const T decay = static_cast<T>(1.0 - hyper.lr * hyper.weight_decay);
      const bool decoupled = hyper.decoupled_weight_decay;
      parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          T gi = g[i];
          if (decoupled) {
            p[i] *= decay;
          } else {
            gi += wd * p[i];
          }
          m[i] = b1 * m[i] + (T(1) - b1) * gi;
          v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
          p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
        }
      });
    }
  });
}

void sgd_step(DType dtype, std::int64_t n, void* param, const void* grad, void* momentum_buffer,
              const SgdHyper& hyper) {
  EMBER_CHECK(dtype == DType::f32 || dtype == DType::f64, "sgd: parameters must be f32 or f64 (master weights), got ",
              dtype);
  dispatch_floating(dtype, "sgd", [&]<class T>() {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      T* p = static_cast<T*>(param);
      const T* g = static_cast<const T*>(grad);
      T* buf = static_cast<T*>(momentum_buffer);
      const T lr = static_cast<T>(hyper.lr), wd = static_cast<T>(hyper.weight_decay);
      const T momentum = static_cast<T>(hyper.momentum), keep = static_cast<T>(1.0 - hyper.dampening);
      parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
          T gi = g[i] + wd * p[i];
          if (hyper.momentum != 0) {
            buf[i] = hyper.first_step ? gi : momentum * buf[i] + keep * gi;
            gi = hyper.nesterov ? gi + momentum * buf[i] : buf[i];
          }
          p[i] -= lr * gi;
        }
      });
    }
  });
}

bool unscale_and_check_finite(DType dtype, std::int64_t n, void* data, float inv_scale) {
  EMBER_CHECK(dtype == DType::f32 || dtype == DType::f64, "GradScaler.unscale_: gradients must be f32 or f64 "
              "(the master weights' dtype), got ", dtype);
  std::atomic<bool> found{false};
  dispatch_floating(dtype, "unscale", [&]<class T>() {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      T* x = static_cast<T*>(data);
      parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
        bool chunk_found = false;
        for (std::int64_t i = begin; i < end; ++i) {
          chunk_found |= !std::isfinite(x[i]);
          x[i] *= static_cast<T>(inv_scale);
        }
        if (chunk_found) found.store(true, std::memory_order_relaxed);
      });
    }
  });
  return found.load();
}

}  // namespace ember::kernels::cpu
