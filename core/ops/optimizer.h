#pragma once
// Fused optimizer steps and the GradScaler's unscale, as ops over lists of tensors: the
// optimizers (optim/) call these and never a kernel, so they are the same code on every device.
// Each op updates its tensors in place (no autograd; their version counters go up), groups them
// by device and dtype, and runs one fused kernel per group: on a GPU one launch for many
// parameters. Parameters, gradients and state are contiguous f32 or f64 (master weights).
#include <vector>

#include "core/tensor.h"
#include "kernels/optimizer_formulas.h"

namespace ember {

using kernels::AdamHyper;
using kernels::SgdHyper;

// Adam / AdamW (PyTorch's formulas, kernels/optimizer_formulas.h) on params[i] with grads[i] and
// the moments exp_avgs[i], exp_avg_sqs[i]; max_exp_avg_sqs is empty unless hyper.amsgrad, else
// the running maxima of the second moments, one per parameter. Every tensor of one index has the
// same shape, dtype and device. All share `hyper` (one step count).
void adam_step_(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& max_exp_avg_sqs, const AdamHyper& hyper);

// SGD (PyTorch's formulas) on params[i] with grads[i]; momentum_buffers is empty without momentum,
// else one buffer per parameter (written from the gradient on hyper.first_step).
void sgd_step_(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& momentum_buffers, const SgdHyper& hyper);

// Multiplies every gradient by inv_scale (rounded to f32, as PyTorch does) and sets found_inf
// (a one-element f32 tensor on the gradients' device) to 1 when any element was inf or NaN,
// else leaves it. Nothing waits for the device: found_inf is read only when someone needs it.
void unscale_and_check_finite_(const std::vector<Tensor>& grads, double inv_scale, const Tensor& found_inf);

}  // namespace ember
