#pragma once
// Weight initialization, with PyTorch's formulas. Each fills a tensor in place (no autograd).
#include "core/generator.h"
#include "core/tensor.h"

namespace ember::nn::init {

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's convention).
std::pair<std::int64_t, std::int64_t> fan_in_and_out(const Tensor& tensor);

void uniform_(const Tensor& tensor, double low, double high, Generator& generator = default_generator());
// U(-bound, bound) with bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (leaky_relu).
void kaiming_uniform_(const Tensor& tensor, double a = 0.0, Generator& generator = default_generator());

}  // namespace ember::nn::init
