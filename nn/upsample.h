#pragma once
// nn::Upsample: interpolation (nearest or bilinear) to a size or by a scale factor.
#include "core/ops/resample.h"
#include "nn/module.h"

namespace ember::nn {

class Upsample : public Module {
 public:
  explicit Upsample(const InterpolateOptions& options) : options(options) {}
  Tensor forward(const Tensor& input) override { return interpolate(input, options); }
  std::string type_name() const override { return "Upsample"; }
  InterpolateOptions options;
};

}  // namespace ember::nn
