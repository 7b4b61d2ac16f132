#pragma once
// The optimizer updates of one element, written once for both devices (kernels/cpu/optimizer.cpp
// and kernels/cuda/optimizer.cu), with their hyper-parameters.
//
// The per-element constants of a step (bias corrections, 1 - beta, ...) are computed on the
// host in double and rounded once to the parameters' dtype, as PyTorch does: computing 1 - beta2
// in f32 with beta2 = 0.9999 would weigh every squared gradient 1.7e-4 relative too much.
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace ember::kernels {

// --- Adam / AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), PyTorch's formulas ---------------
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW
  std::int64_t step;            // 1 on the first update
  bool maximize = false;        // ascend: the gradient's sign is flipped first
  bool amsgrad = false;         // divide by the running maximum of v (Reddi et al. 2018)
};

template <class T>
struct AdamCoefficients {
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T step_size;                  // lr / (1 - beta1^t)
  T inv_sqrt_bias_correction2;  // 1 / sqrt(1 - beta2^t)
  T eps, weight_decay;
  T decay;  // AdamW's 1 - lr * weight_decay
  bool decoupled, maximize;
};

template <class T>
AdamCoefficients<T> adam_coefficients(const AdamHyper& h) {
  const double t = static_cast<double>(h.step);
  return {static_cast<T>(h.beta1),
          static_cast<T>(1.0 - h.beta1),
          static_cast<T>(h.beta2),
          static_cast<T>(1.0 - h.beta2),
          static_cast<T>(h.lr / (1.0 - std::pow(h.beta1, t))),
          static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(h.beta2, t))),
          static_cast<T>(h.eps),
          static_cast<T>(h.weight_decay),
          static_cast<T>(1.0 - h.lr * h.weight_decay),
          h.decoupled_weight_decay,
          h.maximize};
}

//   maximize: g = -g
//   AdamW: p *= 1 - lr wd;  Adam: g += wd p
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   amsgrad: v_max = max(v_max, v), used below in place of v (a NaN v propagates, as torch.maximum)
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// `v_max` is null without amsgrad.
template <class T>
EMBER_HOST_DEVICE void adam_update(T& p, T g, T& m, T& v, T* v_max, const AdamCoefficients<T>& k) {
  if (k.maximize) g = -g;
  if (k.decoupled) {
    p *= k.decay;
  } else {
    g += k.weight_decay * p;
  }
  m = k.beta1 * m + k.one_minus_beta1 * g;
  v = k.beta2 * v + k.one_minus_beta2 * g * g;
  T denominator_v = v;
  if (v_max) {
    *v_max = (v > *v_max || v != v) ? v : *v_max;
    denominator_v = *v_max;
  }
  p -= k.step_size * m / (std::sqrt(denominator_v) * k.inv_sqrt_bias_correction2 + k.eps);
}

// --- SGD with momentum, dampening, Nesterov and L2 weight decay, PyTorch's formulas -------------
struct SgdHyper {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first_step;        // the momentum buffer is uninitialized and takes the gradient
  bool maximize = false;  // ascend: the gradient's sign is flipped first
};

template <class T>
struct SgdCoefficients {
  T lr, weight_decay, momentum, one_minus_dampening;
  bool use_momentum, nesterov, first_step, maximize;
};

template <class T>
SgdCoefficients<T> sgd_coefficients(const SgdHyper& h) {
  return {static_cast<T>(h.lr),       static_cast<T>(h.weight_decay), static_cast<T>(h.momentum),
          static_cast<T>(1.0 - h.dampening), h.momentum != 0,          h.nesterov,
          h.first_step,                      h.maximize};
}

//   maximize: g = -g
//   g += wd p
//   buf = g (first step) or buf = momentum buf + (1 - dampening) g
//   g = g + momentum buf (nesterov) or g = buf
//   p -= lr g
// `buf` is not touched without momentum.
template <class T>
EMBER_HOST_DEVICE void sgd_update(T& p, T g, T* buf, const SgdCoefficients<T>& k) {
  if (k.maximize) g = -g;
  g += k.weight_decay * p;
  if (k.use_momentum) {
    *buf = k.first_step ? g : k.momentum * *buf + k.one_minus_dampening * g;
    g = k.nesterov ? g + k.momentum * *buf : *buf;
  }
  p -= k.lr * g;
}

// --- the GradScaler's unscale: x *= inv_scale; returns whether x was inf or NaN ----------------
template <class T>
EMBER_HOST_DEVICE bool unscale(T& x, T inv_scale) {
  const bool nonfinite = !std::isfinite(x);
  x *= inv_scale;
  return nonfinite;
}

}  // namespace ember::kernels
