#pragma once
// gradcheck: compares autograd's gradients with central finite differences, in f64.
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace ember {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // |analytic - numerical| <= atol + rtol * |numerical|
  double rtol = 1e-3;
};

// For every input that requires grad (f64 leaves) and every element of f's output, checks
// d output / d input from backward() against (f(x + eps) - f(x - eps)) / (2 eps). Returns true
// when every entry of the Jacobian agrees; otherwise throws an Error naming the input, the
// element and both values (like torch.autograd.gradcheck's raise_exception=True).
bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
               GradcheckOptions options = {});

}  // namespace ember
