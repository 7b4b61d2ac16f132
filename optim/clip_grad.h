#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// Scales all gradients together so their joint L2 norm is at most max_norm: each is multiplied
// by min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping, a 0-dim f64 tensor on
// the gradients' device. Like PyTorch, nothing is read back to the host: the norm and the factor
// stay on the device, so clipping adds no wait to a training step. Parameters without a gradient
// are skipped. When the gradients are spread over several processes (ZeRO stage 2),
// `combine_squares` turns this process's sum of squares into the sum over all of them, so every
// process clips by the same global norm.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm,
                       const std::function<Tensor(const Tensor&)>& combine_squares = nullptr);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::optim
