#include "core/autograd/gradcheck.h"

#include <cmath>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember {

namespace {

// Pointer to element `flat` (row-major position) of a strided f64 tensor.
double* element(const Tensor& t, std::int64_t flat) {
  std::int64_t offset = 0;
  for (std::int64_t d = t.dim() - 1; d >= 0; --d) {
    offset += (flat % t.size(d)) * t.stride(d);
    flat /= t.size(d);
  }
  return t.data<double>() + offset;
}

std::vector<double> evaluate(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                             const std::vector<Tensor>& inputs) {
  NoGradGuard no_grad;
  return f(inputs).to_vector<double>();
}

}  // namespace

bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
               GradcheckOptions options) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(!inputs[i].requires_grad() || (inputs[i].dtype() == DType::f64 && inputs[i].is_leaf()),
                "gradcheck: input ", i, " (", describe(inputs[i]), ") must be an f64 leaf to be checked");
  }
  const Tensor output = f(inputs);
  EMBER_CHECK(output.dtype() == DType::f64, "gradcheck: the function must return f64, got ", describe(output));
  const std::int64_t outputs = output.numel();

  // Analytic Jacobian, one backward per output element: analytic[i][j * n_i + e].
  std::vector<std::vector<double>> analytic(inputs.size());
  for (std::int64_t j = 0; j < outputs; ++j) {
    for (const Tensor& input : inputs) input.reset_grad();
    Tensor one_hot = zeros(output.sizes(), {.dtype = DType::f64});
    one_hot.data<double>()[j] = 1.0;
    if (output.requires_grad()) output.backward(one_hot, /*retain_graph=*/true);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].requires_grad()) continue;
      const Tensor grad = inputs[i].grad();
      const std::vector<double> row = grad.defined() ? grad.to_vector<double>()
                                                     : std::vector<double>(static_cast<std::size_t>(inputs[i].numel()), 0.0);
      analytic[i].insert(analytic[i].end(), row.begin(), row.end());
    }
  }
  for (const Tensor& input : inputs) input.reset_grad();

  // Numerical Jacobian, one central difference per input element, compared as we go.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    const Tensor& input = inputs[i];
    const std::int64_t n = input.numel();
    for (std::int64_t e = 0; e < n; ++e) {
      double* x = element(input, e);
      const double saved = *x;
      *x = saved + options.eps;
      const std::vector<double> plus = evaluate(f, inputs);
      *x = saved - options.eps;
      const std::vector<double> minus = evaluate(f, inputs);
      *x = saved;
      for (std::int64_t j = 0; j < outputs; ++j) {
        const double numerical = (plus[j] - minus[j]) / (2 * options.eps);
        const double computed = analytic[i][static_cast<std::size_t>(j * n + e)];
        EMBER_CHECK(std::abs(computed - numerical) <= options.atol + options.rtol * std::abs(numerical),
                    "gradcheck: Jacobian mismatch for input ", i, " (", describe(input), "), element ", e,
                    ", output ", j, ": analytic ", computed, " vs numerical ", numerical);
      }
    }
  }
  return true;
}

}  // namespace ember
