#include "nn/conv.h"

#include <cmath>

#include "core/ops/factory.h"
#include "nn/init.h"

namespace ember::nn {

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, const std::array<std::int64_t, 2>& kernel_size,
               const Conv2dParams& conv_params, bool has_bias)
    : params(conv_params) {
  EMBER_CHECK(in_channels > 0 && out_channels > 0 && kernel_size[0] > 0 && kernel_size[1] > 0 && params.groups > 0,
              "Conv2d: channels, kernel size and groups must be positive");
  EMBER_CHECK(in_channels % params.groups == 0 && out_channels % params.groups == 0, "Conv2d: groups ", params.groups,
              " must divide in_channels ", in_channels, " and out_channels ", out_channels);
  weight = register_parameter("weight", empty({out_channels, in_channels / params.groups, kernel_size[0], kernel_size[1]}));
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (has_bias) {
    bias = register_parameter("bias", empty({out_channels}));
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor& input) { return conv2d(input, weight, bias, params); }

}  // namespace ember::nn
