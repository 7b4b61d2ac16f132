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

void normal_(const Tensor& tensor, double mean, double std, Generator& generator) {
  NoGradGuard no_grad;
  copy_(tensor, normal(tensor.sizes(), mean, std, {.dtype = tensor.dtype(), .device = tensor.device()}, generator));
}

namespace {

// The standard deviation Kaiming's rule gives: gain / sqrt(fan), gain = sqrt(2 / (1 + a^2)).
double kaiming_std(const Tensor& tensor, double a, FanMode mode) {
  const auto [fan_in, fan_out] = fan_in_and_out(tensor);
  const double fan = static_cast<double>(mode == FanMode::fan_in ? fan_in : fan_out);
  return std::sqrt(2.0 / (1.0 + a * a)) / std::sqrt(fan);
}

double xavier_std(const Tensor& tensor, double gain) {
  const auto [fan_in, fan_out] = fan_in_and_out(tensor);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}

}  // namespace

// A uniform distribution with standard deviation s spans +-sqrt(3) s.
void kaiming_uniform_(const Tensor& tensor, double a, FanMode mode, Generator& generator) {
  const double bound = std::sqrt(3.0) * kaiming_std(tensor, a, mode);
  uniform_(tensor, -bound, bound, generator);
}

void kaiming_normal_(const Tensor& tensor, double a, FanMode mode, Generator& generator) {
  normal_(tensor, 0.0, kaiming_std(tensor, a, mode), generator);
}

void xavier_uniform_(const Tensor& tensor, double gain, Generator& generator) {
  const double bound = std::sqrt(3.0) * xavier_std(tensor, gain);
  uniform_(tensor, -bound, bound, generator);
}

void xavier_normal_(const Tensor& tensor, double gain, Generator& generator) {
  normal_(tensor, 0.0, xavier_std(tensor, gain), generator);
}

}  // namespace ember::nn::init
