#include "nn/linear.h"

#include <cmath>

#include "core/ops/factory.h"
#include "core/ops/linalg.h"
#include "nn/init.h"

namespace ember::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool has_bias) {
  EMBER_CHECK(in_features > 0 && out_features > 0, "Linear: features must be positive, got in_features=",
              in_features, ", out_features=", out_features);
  weight = register_parameter("weight", empty({out_features, in_features}));
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (has_bias) {
    bias = register_parameter("bias", empty({out_features}));
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& input) { return linear(input, weight, bias); }

}  // namespace ember::nn
