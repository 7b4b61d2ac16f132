#pragma once
// Fused multi-tensor optimizer kernels: one launch updates many parameters (a step of a model
// with hundreds of small tensors would otherwise be hundreds of launches).
#include <cstdint>
#include <vector>

#include "kernels/scalar_type.h"
#include "kernels/cpu/optim.h"  // AdamHyper, SgdHyper: the same hyperparameters on both devices

namespace ember::kernels::cuda {

// One parameter's buffers, all contiguous with n elements of the same dtype (f32 or f64).
struct AdamTensors {
  void* param;
  const void* grad;
  void* exp_avg;
  void* exp_avg_sq;
  std::int64_t n;
};

// The Adam / AdamW update of kernels/cpu/optim.h on every tensor of the list. All tensors share
// `hyper` (one parameter group, one step count).
void adam_step(DType dtype, const std::vector<AdamTensors>& tensors, const cpu::AdamHyper& hyper);

// One parameter's buffers for SGD (momentum_buffer null without momentum).
struct SgdTensors {
  void* param;
  const void* grad;
  void* momentum_buffer;
  std::int64_t n;
};

// The SGD update of kernels/cpu/optim.h on every tensor of the list, with shared `hyper`.
void sgd_step(DType dtype, const std::vector<SgdTensors>& tensors, const cpu::SgdHyper& hyper);

// The GradScaler's unscale of every gradient (x *= inv_scale, f32 or f64, contiguous); returns
// whether any element was inf or NaN. Waits for the device to read the answer.
bool unscale_and_check_finite(DType dtype, const std::vector<void*>& grads, const std::vector<std::int64_t>& sizes,
                              float inv_scale);

}  // namespace ember::kernels::cuda
