#include "optim/sgd.h"

#include <map>
#include <tuple>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"
#include "core/ops/op_utils.h"
#include "kernels/cuda/optim.h"

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
    // As in Adam::step: CUDA parameters sharing a device, dtype and first-step flag go to one
    // fused multi-tensor launch; CPU parameters update one by one.
    std::map<std::tuple<int, DType, bool>, std::vector<kernels::cuda::SgdTensors>> cuda_batches;
    for (const Tensor& param : group.params) {
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      EMBER_CHECK(param.is_contiguous() && grad.is_contiguous(), "SGD: parameter ", describe(param),
                  " and its gradient must be contiguous");
      detail::common_device("SGD", {&param, &grad});
      bool first_step = false;
      void* buffer = nullptr;
      if (options_.momentum != 0) {
        auto [entry, inserted] = momentum_buffers_.try_emplace(param.impl());
        if (inserted) entry->second = empty_like(param);  // the kernel writes the gradient into it
        first_step = inserted;
        buffer = entry->second.data_ptr();
      }
      param.bump_version();
      if (param.device().is_cuda()) {
        cuda_batches[{param.device().index, param.dtype(), first_step}].push_back(
            {param.data_ptr(), grad.data_ptr(), buffer, param.numel()});
        continue;
      }
      kernels::cpu::sgd_step(param.dtype(), param.numel(), param.data_ptr(), grad.data_ptr(), buffer,
                             hyper(group, first_step));
    }
    for (const auto& [key, tensors] : cuda_batches) {
      const auto& [device, dtype, first_step] = key;
      EMBER_CUDA_DISPATCH("SGD", kernels::cuda::sgd_step(dtype, tensors, hyper(group, first_step)));
    }
  }
}

kernels::cpu::SgdHyper SGD::hyper(const ParamGroup& group, bool first_step) const {
  return {group.lr, options_.momentum, options_.dampening, group.weight_decay, options_.nesterov, first_step};
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
