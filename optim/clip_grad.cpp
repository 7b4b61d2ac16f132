#include "optim/clip_grad.h"

#include <cmath>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm,
                       const std::function<double(double)>& combine_squares) {
  EMBER_CHECK(max_norm > 0, "clip_grad_norm_: max_norm must be positive, got ", max_norm);
  NoGradGuard no_grad;
  double squares = 0;
  for (const Tensor& param : params) {
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    const Tensor g = grad.to(DType::f64);
    squares += sum(mul(g, g)).item<double>();
  }
  if (combine_squares) squares = combine_squares(squares);
  const double norm = std::sqrt(squares);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1) {
    for (const Tensor& param : params) {
      if (param.grad().defined()) mul_(param.grad(), scale);
    }
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
