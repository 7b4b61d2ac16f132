#pragma once
// nn::Dropout: zeroes each element with probability p in training and scales the rest by
// 1 / (1 - p); the identity in eval mode. The mask comes from Philox, so a seed gives the same
// mask on every device.
#include "core/generator.h"
#include "nn/module.h"

namespace ember::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& generator = default_generator());
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Dropout"; }
  double p;

 private:
  Generator* generator_;
};

}  // namespace ember::nn
