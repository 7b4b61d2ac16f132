#pragma once
// Activation layers: thin modules over the core's elementwise ops.
#include "core/ops/elementwise.h"
#include "nn/module.h"

namespace ember::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "ReLU"; }
};

// The exact (erf) GELU, PyTorch's default.
class GELU : public Module {
 public:
  // PyTorch's nn.GELU(approximate="none" | "tanh").
  explicit GELU(GeluApproximate approximate = GeluApproximate::none) : approximate(approximate) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "GELU"; }
  GeluApproximate approximate;
};

// x * sigmoid(x), also known as swish.
class SiLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "SiLU"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sigmoid"; }
};

class Softmax : public Module {
 public:
  explicit Softmax(std::int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Softmax"; }
  std::int64_t dim;
};

}  // namespace ember::nn
