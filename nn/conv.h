#pragma once
// nn::Conv2d over [N, C, H, W] inputs.
#include "core/ops/conv.h"
#include "nn/module.h"

namespace ember::nn {

class Conv2d : public Module {
 public:
  // PyTorch's default init: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * KH * KW.
  // (The structs are taken by reference: GCC 12 with AVX-512 miscompiles a defaulted by-value
  // Conv2dParams argument built inside std::make_shared, overwriting padding with 1.)
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, const std::array<std::int64_t, 2>& kernel_size,
         const Conv2dParams& params = {}, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Conv2d"; }

  Tensor weight;  // [out_channels, in_channels / groups, KH, KW]
  Tensor bias;    // [out_channels], or undefined
  Conv2dParams params;
};

}  // namespace ember::nn
