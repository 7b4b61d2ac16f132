#include "optim/clip_grad.h"

#include <cmath>
#include <map>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::optim {

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       const std::function<Tensor(const Tensor&, NormPartial)>& combine) {
  EMBER_CHECK(max_norm > 0, "clip_grad_norm_: max_norm must be positive, got ", max_norm);
  const bool inf_norm = std::isinf(norm_type) && norm_type > 0;
  EMBER_CHECK(inf_norm || (std::isfinite(norm_type) && norm_type > 0),
              "clip_grad_norm_: norm_type must be positive (or infinity), got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& param : params) {
    if (param.grad().defined()) grads.push_back(param.grad());
  }
  const Device device = grads.empty() ? Device::cpu() : grads[0].device();
  // The partial: the sum of |g|^p (of g * g for the L2 norm), or the largest |g|; in f64.
  Tensor partial = zeros({}, {.dtype = DType::f64, .device = device});
  std::vector<Tensor> maxima{partial};
  for (const Tensor& grad : grads) {
    const Tensor g = grad.to(DType::f64);
    if (inf_norm) {
      maxima.push_back(max(abs(g)));
    } else {
      partial = partial + sum(norm_type == 2 ? g * g : norm_type == 1 ? abs(g) : pow(abs(g), norm_type));
    }
  }
  if (inf_norm) partial = max(stack(maxima));
  if (combine) partial = combine(partial, inf_norm ? NormPartial::max : NormPartial::sum);
  const Tensor norm = inf_norm || norm_type == 1 ? partial : norm_type == 2 ? sqrt(partial) : pow(partial, 1 / norm_type);
  const Tensor factor = clamp(max_norm / (norm + 1e-6), std::nullopt, 1.0);
  std::map<DType, Tensor> factors;  // the factor in each gradient dtype, converted once
  for (const Tensor& grad : grads) {
    Tensor& in_dtype = factors[grad.dtype()];
    if (!in_dtype.defined()) in_dtype = factor.to(grad.dtype());
    mul_(grad, in_dtype);
  }
  return norm;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  EMBER_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be non-negative, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& param : params) {
    if (param.grad().defined()) copy_(param.grad(), clamp(param.grad(), -clip_value, clip_value));
  }
}

}  // namespace ember::optim
