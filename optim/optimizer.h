#pragma once
// Optimizer: owns parameter groups and per-parameter state; subclasses implement step().
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// Parameters that share a learning rate and weight decay (PyTorch's param_groups).
struct ParamGroup {
  std::vector<Tensor> params;
  double lr;
  double weight_decay;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every parameter that has a gradient; parameters with none are skipped.
  virtual void step() = 0;
  // Resets gradients: to none (the default, like PyTorch 2) or to zeros.
  virtual void zero_grad(bool set_to_none = true);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

 protected:
  Optimizer(const char* name, std::vector<ParamGroup> groups);

 private:
  std::vector<ParamGroup> groups_;
};

}  // namespace ember::optim
