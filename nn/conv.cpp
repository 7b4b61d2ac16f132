#include "nn/conv.h"

#include <cmath>

#include "core/ops/factory.h"
#include "nn/init.h"

namespace ember::nn {

namespace {

void check_layer(const char* layer, std::int64_t in_channels, std::int64_t out_channels,
                 const std::array<std::int64_t, 2>& kernel_size, std::int64_t groups) {
  EMBER_CHECK(in_channels > 0 && out_channels > 0 && kernel_size[0] > 0 && kernel_size[1] > 0 && groups > 0, layer,
              ": channels, kernel size and groups must be positive");
  EMBER_CHECK(in_channels % groups == 0 && out_channels % groups == 0, layer, ": groups ", groups,
              " must divide in_channels ", in_channels, " and out_channels ", out_channels);
}

// PyTorch's init for both layers (bias may be undefined).
void init_conv_parameters(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fan_in_and_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, const std::array<std::int64_t, 2>& kernel_size,
               const Conv2dParams& conv_params, bool has_bias)
    : params(conv_params) {
  check_layer("Conv2d", in_channels, out_channels, kernel_size, params.groups);
  weight = register_parameter("weight", empty({out_channels, in_channels / params.groups, kernel_size[0], kernel_size[1]}));
  if (has_bias) bias = register_parameter("bias", empty({out_channels}));
  init_conv_parameters(weight, bias);
}

Tensor Conv2d::forward(const Tensor& input) { return conv2d(input, weight, bias, params); }

ConvTranspose2d::ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels,
                                 const std::array<std::int64_t, 2>& kernel_size,
                                 const ConvTranspose2dParams& conv_params, bool has_bias)
    : params(conv_params) {
  check_layer("ConvTranspose2d", in_channels, out_channels, kernel_size, params.groups);
  weight = register_parameter("weight", empty({in_channels, out_channels / params.groups, kernel_size[0], kernel_size[1]}));
  if (has_bias) bias = register_parameter("bias", empty({out_channels}));
  init_conv_parameters(weight, bias);
}

Tensor ConvTranspose2d::forward(const Tensor& input) { return conv_transpose2d(input, weight, bias, params); }

}  // namespace ember::nn
