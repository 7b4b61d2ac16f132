#pragma once
// nn::Linear: y = x W^T + b.
#include "nn/module.h"

namespace ember::nn {

class Linear : public Module {
 public:
  // PyTorch's default init: W and b ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)).
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Linear"; }

  Tensor weight;  // [out_features, in_features]
  Tensor bias;    // [out_features], or undefined
};

}  // namespace ember::nn
