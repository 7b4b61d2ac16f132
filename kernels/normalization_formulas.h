#pragma once
// The per-element formulas of LayerNorm and BatchNorm, written once for the CPU loops and the
// CUDA kernels (kernels/cpu/normalization.cpp, kernels/cuda/normalization.cu). Each device only
// computes the statistics and sums its own way.
#include "kernels/host_device.h"

namespace ember::kernels {

// x normalized by its group's statistics: (x - mean) / sqrt(var + eps), with rstd = 1 / sqrt(var + eps).
template <class C>
EMBER_HOST_DEVICE C normalized(C x, C mean, C rstd) {
  return (x - mean) * rstd;
}

// The input gradient of a normalization over a group of N values, with g the gradient reaching
// xhat (grad_y times the weight) and the group's means of g and of g * xhat:
//   dx = rstd * (g - mean(g) - xhat * mean(g xhat)).
// `scale` is rstd (times the weight where g is grad_y itself); in eval mode BatchNorm's statistics
// are constants and both means are 0.
template <class C>
EMBER_HOST_DEVICE C normalization_input_gradient(C scale, C g, C mean_g, C xhat, C mean_g_xhat) {
  return scale * (g - mean_g - xhat * mean_g_xhat);
}

}  // namespace ember::kernels
