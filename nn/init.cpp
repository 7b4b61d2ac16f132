#include "nn/init.h"

#include <cmath>

#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"
#include "core/ops/factory.h"

namespace ember::nn::init {

std::pair<std::int64_t, std::int64_t> fan_in_and_out(const Tensor& tensor) {
  EMBER_CHECK(tensor.dim() >= 2, "init: fan in and fan out need a tensor with at least 2 dims, got shape ",
              to_string(tensor.sizes()));
  std::int64_t receptive_field = 1;
  for (std::int64_t d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.size(d);
  return {tensor.size(1) * receptive_field, tensor.size(0) * receptive_field};
}

void uniform_(const Tensor& tensor, double low, double high, Generator& generator) {
  NoGradGuard no_grad;
  copy_(tensor, uniform(tensor.sizes(), low, high, {.dtype = tensor.dtype(), .device = tensor.device()}, generator));
}

void kaiming_uniform_(const Tensor& tensor, double a, Generator& generator) {
  const auto [fan_in, fan_out] = fan_in_and_out(tensor);
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in));
  uniform_(tensor, -bound, bound, generator);
}

}  // namespace ember::nn::init
