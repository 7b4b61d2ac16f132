#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// How the partial norms of several processes combine: the sum of their sums of |g|^p, or for
// the inf norm the largest of their maxima.
enum class NormPartial { sum, max };

// Scales all gradients together so their joint norm is at most max_norm: each is multiplied by
// min(1, max_norm / (norm + 1e-6)). The norm is PyTorch's norm_type: p > 0 gives
// (sum |g|^p)^(1/p) over every element of every gradient (2, the default: L2), infinity the
// largest |g|. Returns the norm before clipping, a 0-dim f64 tensor on the gradients' device.
// Like PyTorch, nothing is read back to the host: the norm and the factor stay on the device, so
// clipping adds no wait to a training step. Parameters without a gradient are skipped. When the
// gradients are spread over several processes (ZeRO stage 2), `combine` turns this process's
// partial (its sum of |g|^p, or its maximum) into that of all of them, so every process clips by
// the same global norm.
Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       const std::function<Tensor(const Tensor& partial, NormPartial how)>& combine = nullptr);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::optim
