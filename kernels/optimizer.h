#pragma once
// Fused multi-tensor optimizer kernels: one call updates every parameter of a list, from the
// per-element formulas of kernels/optimizer_formulas.h (on the GPU, one launch covers many
// parameters: a model with hundreds of small tensors would otherwise take hundreds of launches).
// Every buffer is contiguous; parameters, gradients and state share one dtype, f32 or f64
// (master weights).
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/optimizer.cpp and
// kernels/cuda/optimizer.cu define them.
#include <cstdint>
#include <vector>

#include "kernels/optimizer_formulas.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// One parameter's buffers for Adam, n elements each (max_exp_avg_sq null without amsgrad).
struct AdamTensors {
  void* param;
  const void* grad;
  void* exp_avg;
  void* exp_avg_sq;
  void* max_exp_avg_sq;
  std::int64_t n;
};
// The Adam / AdamW update on every tensor of the list; all share `hyper` (one step count).
using AdamStepKernel = void(DType dtype, const std::vector<AdamTensors>& tensors, const AdamHyper& hyper);

// One parameter's buffers for SGD (momentum_buffer null without momentum).
struct SgdTensors {
  void* param;
  const void* grad;
  void* momentum_buffer;
  std::int64_t n;
};
using SgdStepKernel = void(DType dtype, const std::vector<SgdTensors>& tensors, const SgdHyper& hyper);

// One gradient for the GradScaler.
struct UnscaleTensor {
  void* grad;
  std::int64_t n;
};
// grad *= inv_scale (rounded to f32 first, as PyTorch does) for every gradient; sets *found_inf
// (one f32 on the same device) to 1 when any element was inf or NaN, else leaves it. On the GPU
// it returns without waiting: the flag stays on the device until someone reads it.
using UnscaleKernel = void(DType dtype, const std::vector<UnscaleTensor>& grads, double inv_scale, float* found_inf);

// run.template operator()<T>() with T the C++ type of a master-weight dtype (f32 or f64).
template <class Run>
void with_master_type(DType dtype, const char* op, Run&& run) {
  EMBER_CHECK(dtype == DType::f32 || dtype == DType::f64, op, ": parameters must be f32 or f64 (master weights), got ",
              dtype);
  if (dtype == DType::f32) {
    run.template operator()<float>();
  } else {
    run.template operator()<double>();
  }
}

namespace cpu {
AdamStepKernel adam_step;
SgdStepKernel sgd_step;
UnscaleKernel unscale_and_check_finite;
}  // namespace cpu

namespace cuda {
AdamStepKernel adam_step;
SgdStepKernel sgd_step;
UnscaleKernel unscale_and_check_finite;
}  // namespace cuda

}  // namespace ember::kernels
