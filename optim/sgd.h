#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.
#include <unordered_map>

#include "core/ops/optimizer.h"
#include "optim/optimizer.h"

namespace ember::optim {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;  // PyTorch's: ascend the objective instead of descending it
};

// PyTorch's update, per parameter p with gradient g (one fused op, sgd_step_ of
// core/ops/optimizer.h, for the parameters of a group):
//   g = -g (maximize)
//   g += weight_decay * p
//   buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g
//   g = g + momentum * buf (nesterov) or g = buf (momentum > 0)
//   p -= lr * g
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  SGD(std::vector<ParamGroup> groups, SGDOptions options);
  std::unique_ptr<Optimizer> make_like(std::vector<ParamGroup> groups) const override;
  void step() override;
  bool has_momentum() const override { return true; }

 protected:
  void save_param_state(OptimizerState& out) const override;
  void load_param_state(const OptimizerState& in) override;

 private:
  SgdHyper hyper(const ParamGroup& group, bool first_step) const;

  SGDOptions options_;
  std::unordered_map<const void*, Tensor> momentum_buffers_;  // keyed by the parameter's TensorImpl
};

}  // namespace ember::optim
