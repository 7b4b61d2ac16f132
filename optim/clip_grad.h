#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// Scales all gradients together so their joint L2 norm is at most max_norm (by
// max_norm / (norm + 1e-6), only when that is below 1). Returns the norm before clipping.
// Parameters without a gradient are skipped. When the gradients are spread over several
// processes (ZeRO stage 2), `combine_squares` turns this process's sum of squares into the sum
// over all of them, so every process clips by the same global norm.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm,
                       const std::function<double(double)>& combine_squares = nullptr);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::optim
