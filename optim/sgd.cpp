#include "optim/sgd.h"

#include <vector>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"
#include "optim/state_value.h"

namespace ember::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{{std::move(params), options.lr, options.weight_decay}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options) : Optimizer("SGD", std::move(groups)), options_(options) {
  EMBER_CHECK(options.momentum >= 0, "SGD: invalid momentum ", options.momentum);
  EMBER_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "SGD: nesterov momentum requires a momentum and zero dampening");
}

std::unique_ptr<Optimizer> SGD::make_like(std::vector<ParamGroup> groups) const {
  return std::make_unique<SGD>(std::move(groups), options_);
}

void SGD::step() {
  NoGradGuard no_grad;
  for (const ParamGroup& group : param_groups()) {
    const bool momentum = group.momentum.value_or(options_.momentum) != 0;
    // A buffer made this step takes the gradient (first_step): parameters with a new buffer and
    // those with an old one take one fused step each.
    struct Lists {
      std::vector<Tensor> params, grads, buffers;
    };
    Lists with_new_buffer, with_old_buffer;
    for (const Tensor& param : group.params) {
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      Lists* lists = &with_old_buffer;
      if (momentum) {
        auto [entry, inserted] = momentum_buffers_.try_emplace(param.impl());
        if (inserted) {
          entry->second = empty_like(param);  // the step writes the gradient into it
          lists = &with_new_buffer;
        }
        lists->buffers.push_back(entry->second);
      }
      lists->params.push_back(param);
      lists->grads.push_back(grad);
    }
    for (const bool first_step : {true, false}) {
      const Lists& lists = first_step ? with_new_buffer : with_old_buffer;
      if (!lists.params.empty()) sgd_step_(lists.params, lists.grads, lists.buffers, hyper(group, first_step));
    }
  }
}

SgdHyper SGD::hyper(const ParamGroup& group, bool first_step) const {
  return {group.lr, group.momentum.value_or(options_.momentum), options_.dampening, group.weight_decay,
          options_.nesterov, first_step, options_.maximize};
}

void SGD::save_param_state(OptimizerState& out) const {
  const std::vector<Tensor> params = all_params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto found = momentum_buffers_.find(params[i].impl());
    if (found != momentum_buffers_.end()) out.tensors.emplace_back("state." + std::to_string(i) + ".momentum_buffer", found->second);
  }
}

void SGD::load_param_state(const OptimizerState& in) {
  NoGradGuard no_grad;
  momentum_buffers_.clear();
  const std::vector<Tensor> params = all_params();
  for (const auto& [name, tensor] : in.tensors) {
    const std::size_t index = state_index(name, "SGD::load_state");
    EMBER_CHECK(index < params.size() && tensor.sizes() == params[index].sizes(), "SGD::load_state: '", name,
                "' does not match parameter ", index, " of this optimizer");
    momentum_buffers_[params[index].impl()] = clone(tensor.to(params[index].dtype()).to(params[index].device()));
  }
}

}  // namespace ember::optim
