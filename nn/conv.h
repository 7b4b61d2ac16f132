#pragma once
// nn::Conv2d and nn::ConvTranspose2d over [N, C, H, W] inputs.
#include "core/ops/conv.h"
#include "nn/module.h"

namespace ember::nn {

// Both layers use PyTorch's default init: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
// fan_in = weight.size(1) * KH * KW (for the transposed layer that is out_channels / groups,
// as in PyTorch). The parameter structs are taken by reference: GCC 12 with AVX-512 miscompiles
// a defaulted by-value Conv2dParams argument built inside std::make_shared, overwriting padding.

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, const std::array<std::int64_t, 2>& kernel_size,
         const Conv2dParams& params = {}, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Conv2d"; }

  Tensor weight;  // [out_channels, in_channels / groups, KH, KW]
  Tensor bias;    // [out_channels], or undefined
  Conv2dParams params;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, const std::array<std::int64_t, 2>& kernel_size,
                  const ConvTranspose2dParams& params = {}, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "ConvTranspose2d"; }

  Tensor weight;  // [in_channels, out_channels / groups, KH, KW]
  Tensor bias;    // [out_channels], or undefined
  ConvTranspose2dParams params;
};

}  // namespace ember::nn
