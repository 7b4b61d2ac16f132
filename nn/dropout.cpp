#include "nn/dropout.h"

#include "core/ops.h"

namespace ember::nn {

Dropout::Dropout(double p, Generator& generator) : p(p), generator_(&generator) {
  EMBER_CHECK(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& input) {
  if (!is_training() || p == 0) return input;
  if (p == 1) return input * 0.0;
  // keep = U[0, 1) >= p, scaled so the expected output equals the input.
  const Tensor keep = ge(rand(input.sizes(), {.dtype = input.dtype(), .device = input.device()}, *generator_),
                         scalar_tensor(p, {.dtype = input.dtype(), .device = input.device()}));
  return input * (ember::to(keep, input.dtype()) * (1.0 / (1.0 - p)));
}

}  // namespace ember::nn
