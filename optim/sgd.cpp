#include "optim/sgd.h"

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{{std::move(params), options.lr, options.weight_decay}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options) : Optimizer("SGD", std::move(groups)), options_(options) {
  EMBER_CHECK(options.momentum >= 0, "SGD: invalid momentum ", options.momentum);
  EMBER_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "SGD: nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  NoGradGuard no_grad;
  for (const ParamGroup& group : param_groups()) {
    for (const Tensor& param : group.params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      if (group.weight_decay != 0) grad = add(grad, param, group.weight_decay);
      if (options_.momentum != 0) {
        auto [entry, first] = momentum_buffers_.try_emplace(param.impl());
        Tensor& buffer = entry->second;
        if (first) {
          buffer = clone(grad);
        } else {
          buffer.mul_(options_.momentum).add_(grad, 1.0 - options_.dampening);
        }
        grad = options_.nesterov ? add(grad, buffer, options_.momentum) : buffer;
      }
      add_(param, grad, -group.lr);
    }
  }
}

}  // namespace ember::optim

namespace ember::optim {

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
    const std::size_t index = std::stoul(name.substr(6));  // "state.<index>.momentum_buffer"
    EMBER_CHECK(index < params.size() && tensor.sizes() == params[index].sizes(), "SGD::load_state: '", name,
                "' does not match parameter ", index, " of this optimizer");
    momentum_buffers_[params[index].impl()] = clone(tensor.to(params[index].dtype()).to(params[index].device()));
  }
}

}  // namespace ember::optim
