#pragma once
// Weight initialization, with PyTorch's formulas. Each fills a tensor in place (no autograd).
#include "core/generator.h"
#include "core/tensor.h"

namespace ember::nn::init {

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's convention).
std::pair<std::int64_t, std::int64_t> fan_in_and_out(const Tensor& tensor);

// Which fan the Kaiming initializers preserve the variance of.
enum class FanMode { fan_in, fan_out };

void uniform_(const Tensor& tensor, double low, double high, Generator& generator = default_generator());
void normal_(const Tensor& tensor, double mean, double std, Generator& generator = default_generator());
// U(-bound, bound) with bound = gain * sqrt(3 / fan), gain = sqrt(2 / (1 + a^2)) (leaky_relu).
void kaiming_uniform_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                      Generator& generator = default_generator());
// N(0, std) with std = gain / sqrt(fan), gain as above.
void kaiming_normal_(const Tensor& tensor, double a = 0.0, FanMode mode = FanMode::fan_in,
                     Generator& generator = default_generator());
// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).
void xavier_uniform_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());
// N(0, std) with std = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(const Tensor& tensor, double gain = 1.0, Generator& generator = default_generator());

}  // namespace ember::nn::init
