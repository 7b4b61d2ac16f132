#pragma once
// nn::Flatten: merges dims start_dim..end_dim (by default all but the batch dim).
#include "core/ops/view.h"
#include "nn/module.h"

namespace ember::nn {

class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& input) override { return flatten(input, start_dim, end_dim); }
  std::string type_name() const override { return "Flatten"; }
  std::int64_t start_dim, end_dim;
};

}  // namespace ember::nn
