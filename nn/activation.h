#pragma once
// Activation layers: thin modules over the core's elementwise ops.
#include "nn/module.h"

namespace ember::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "ReLU"; }
};

}  // namespace ember::nn
