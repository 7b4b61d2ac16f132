#pragma once
// Pooling layers.
#include "core/ops/pool.h"
#include "nn/module.h"

namespace ember::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dParams& params) : params(params) {}
  Tensor forward(const Tensor& input) override { return max_pool2d(input, params); }
  std::string type_name() const override { return "MaxPool2d"; }
  Pool2dParams params;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dParams& params) : params(params) {}
  Tensor forward(const Tensor& input) override { return avg_pool2d(input, params); }
  std::string type_name() const override { return "AvgPool2d"; }
  Pool2dParams params;
};

}  // namespace ember::nn
