#pragma once
// Fused optimizer updates: one pass over a parameter, its gradient and its state.
#include <cstdint>

#include "kernels/scalar_type.h"

namespace ember::kernels::cpu {

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW
  std::int64_t step;            // 1 on the first update
};

// PyTorch's Adam / AdamW update of n contiguous elements (f32 or f64):
//   AdamW: p -= lr * wd * p;  Adam: g += wd * p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
void adam_step(DType dtype, std::int64_t n, void* param, const void* grad, void* exp_avg, void* exp_avg_sq,
               const AdamHyper& hyper);

struct SgdHyper {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;  // the momentum buffer is uninitialized and takes the gradient
};

// PyTorch's SGD update of n contiguous elements (f32 or f64); momentum_buffer is unused (may be
// null) without momentum:
//   g += wd * p
//   buf = g (first step) or buf = momentum * buf + (1 - dampening) * g
//   g = g + momentum * buf (nesterov) or g = buf
//   p -= lr * g
void sgd_step(DType dtype, std::int64_t n, void* param, const void* grad, void* momentum_buffer,
              const SgdHyper& hyper);

// The GradScaler's unscale of one gradient: x *= inv_scale over n contiguous f32/f64 elements.
// Returns whether any element was inf or NaN.
bool unscale_and_check_finite(DType dtype, std::int64_t n, void* data, float inv_scale);

}  // namespace ember::kernels::cpu
