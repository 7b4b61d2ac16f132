#include "optim/optimizer.h"

#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"

namespace ember::optim {

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  EMBER_CHECK(!groups_.empty(), name, ": got no parameter groups");
  for (const ParamGroup& group : groups_) {
    EMBER_CHECK(group.lr >= 0, name, ": invalid learning rate ", group.lr);
    EMBER_CHECK(group.weight_decay >= 0, name, ": invalid weight_decay ", group.weight_decay);
    for (const Tensor& param : group.params) {
      EMBER_CHECK(param.defined() && param.is_leaf() && is_floating(param.dtype()), name,
                  ": can only optimize floating leaf tensors, got ", describe(param));
    }
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (const ParamGroup& group : groups_) {
    for (const Tensor& param : group.params) {
      if (set_to_none) {
        param.reset_grad();
      } else if (param.grad().defined()) {
        zero_(param.grad());
      }
    }
  }
}

}  // namespace ember::optim
