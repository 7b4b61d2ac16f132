// Fused optimizer kernels on the CPU (kernels/optimizer.h): each tensor of the list in turn, its
// elements split over the threads, every element through the formula of
// kernels/optimizer_formulas.h.
#include <atomic>

#include "kernels/cpu/parallel.h"
#include "kernels/optimizer.h"

namespace ember::kernels::cpu {

void adam_step(DType dtype, const std::vector<AdamTensors>& tensors, const AdamHyper& hyper) {
  with_master_type(dtype, "adam", [&]<class T>() {
    const AdamCoefficients<T> k = adam_coefficients<T>(hyper);
    for (const AdamTensors& t : tensors) {
      T* p = static_cast<T*>(t.param);
      const T* g = static_cast<const T*>(t.grad);
      T* m = static_cast<T*>(t.exp_avg);
      T* v = static_cast<T*>(t.exp_avg_sq);
      T* v_max = static_cast<T*>(t.max_exp_avg_sq);
      parallel_for(t.n, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) adam_update(p[i], g[i], m[i], v[i], v_max ? v_max + i : nullptr, k);
      });
    }
  });
}

void sgd_step(DType dtype, const std::vector<SgdTensors>& tensors, const SgdHyper& hyper) {
  with_master_type(dtype, "sgd", [&]<class T>() {
    const SgdCoefficients<T> k = sgd_coefficients<T>(hyper);
    for (const SgdTensors& t : tensors) {
      T* p = static_cast<T*>(t.param);
      const T* g = static_cast<const T*>(t.grad);
      T* buf = static_cast<T*>(t.momentum_buffer);
      parallel_for(t.n, 4, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) sgd_update(p[i], g[i], buf ? buf + i : nullptr, k);
      });
    }
  });
}

void unscale_and_check_finite(DType dtype, const std::vector<UnscaleTensor>& grads, double inv_scale,
                              float* found_inf) {
  std::atomic<bool> found{false};
  with_master_type(dtype, "GradScaler.unscale_", [&]<class T>() {
    const T factor = static_cast<T>(static_cast<float>(inv_scale));
    for (const UnscaleTensor& t : grads) {
      T* x = static_cast<T*>(t.grad);
      parallel_for(t.n, 1, [&](std::int64_t begin, std::int64_t end) {
        bool chunk_found = false;
        for (std::int64_t i = begin; i < end; ++i) chunk_found |= unscale(x[i], factor);
        if (chunk_found) found.store(true, std::memory_order_relaxed);
      });
    }
  });
  if (found.load()) *found_inf = 1.0f;
}

}  // namespace ember::kernels::cpu
