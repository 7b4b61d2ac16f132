#include "optim/clip_grad.h"

#include <cmath>
#include <map>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::optim {

Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm,
                       const std::function<Tensor(const Tensor&)>& combine_squares) {
  EMBER_CHECK(max_norm > 0, "clip_grad_norm_: max_norm must be positive, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& param : params) {
    if (param.grad().defined()) grads.push_back(param.grad());
  }
  const Device device = grads.empty() ? Device::cpu() : grads[0].device();
  Tensor squares = zeros({}, {.dtype = DType::f64, .device = device});
  for (const Tensor& grad : grads) {
    const Tensor g = grad.to(DType::f64);
    squares = squares + sum(g * g);
  }
  if (combine_squares) squares = combine_squares(squares);
  const Tensor norm = sqrt(squares);
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
