#include "optim/adam.h"

#include <map>
#include <tuple>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"
#include "core/ops/op_utils.h"
#include "kernels/cpu/optim.h"
#include "kernels/cuda/optim.h"

namespace ember::optim {

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{{std::move(params), options.lr, options.weight_decay}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options) : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(name, std::move(groups)), options_(options), decoupled_(decoupled) {
  EMBER_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1, name,
              ": betas must be in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  EMBER_CHECK(options.eps >= 0, name, ": invalid eps ", options.eps);
}

std::unique_ptr<Optimizer> Adam::make_like(std::vector<ParamGroup> groups) const {
  return std::unique_ptr<Optimizer>(new Adam(name().c_str(), std::move(groups), options_, decoupled_));
}

void Adam::step() {
  NoGradGuard no_grad;
  for (const ParamGroup& group : param_groups()) {
    // CUDA parameters of the group that share a dtype and step count go to one fused
    // multi-tensor launch; CPU parameters update one by one.
    std::map<std::tuple<int, DType, std::int64_t>, std::vector<kernels::cuda::AdamTensors>> cuda_batches;
    for (const Tensor& param : group.params) {
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      EMBER_CHECK(param.is_contiguous() && grad.is_contiguous(), "Adam: parameter ", describe(param),
                  " and its gradient must be contiguous");
      detail::common_device("Adam", {&param, &grad});
      State& state = state_[param.impl()];
      if (state.step == 0) {
        state.exp_avg = zeros_like(param);
        state.exp_avg_sq = zeros_like(param);
      }
      ++state.step;
      param.bump_version();
      if (param.device().is_cuda()) {
        cuda_batches[{param.device().index, param.dtype(), state.step}].push_back(
            {param.data_ptr(), grad.data_ptr(), state.exp_avg.data_ptr(), state.exp_avg_sq.data_ptr(), param.numel()});
        continue;
      }
      kernels::cpu::adam_step(param.dtype(), param.numel(), param.data_ptr(), grad.data_ptr(), state.exp_avg.data_ptr(),
                              state.exp_avg_sq.data_ptr(), hyper(group, state.step));
    }
    for (const auto& [key, tensors] : cuda_batches) {
      const auto& [device, dtype, step] = key;
      EMBER_CUDA_DISPATCH(name().c_str(), kernels::cuda::adam_step(dtype, tensors, hyper(group, step)));
    }
  }
}

kernels::cpu::AdamHyper Adam::hyper(const ParamGroup& group, std::int64_t step) const {
  return {group.lr, options_.beta1, options_.beta2, options_.eps, group.weight_decay, decoupled_, step};
}

void Adam::save_param_state(OptimizerState& out) const {
  const std::vector<Tensor> params = all_params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto found = state_.find(params[i].impl());
    if (found == state_.end()) continue;
    const std::string prefix = "state." + std::to_string(i) + ".";
    out.scalars[prefix + "step"] = static_cast<double>(found->second.step);
    out.tensors.emplace_back(prefix + "exp_avg", found->second.exp_avg);
    out.tensors.emplace_back(prefix + "exp_avg_sq", found->second.exp_avg_sq);
  }
}

void Adam::load_param_state(const OptimizerState& in) {
  NoGradGuard no_grad;
  state_.clear();
  const std::vector<Tensor> params = all_params();
  for (const auto& [name, steps] : in.scalars) {
    if (name.rfind("state.", 0) != 0) continue;
    const std::size_t index = std::stoul(name.substr(6));  // "state.<index>.step"
    EMBER_CHECK(index < params.size(), "Adam::load_state: state for parameter ", index, ", but this optimizer has ",
                params.size());
    const std::string prefix = "state." + std::to_string(index) + ".";
    State& state = state_[params[index].impl()];
    state.step = static_cast<std::int64_t>(steps);
    for (const auto& [tensor_name, tensor] : in.tensors) {
      if (tensor_name.rfind(prefix, 0) != 0) continue;
      EMBER_CHECK(tensor.sizes() == params[index].sizes(), "Adam::load_state: '", tensor_name, "' has shape ",
                  to_string(tensor.sizes()), ", parameter ", index, " has ", to_string(params[index].sizes()));
      Tensor& slot = tensor_name == prefix + "exp_avg" ? state.exp_avg : state.exp_avg_sq;
      slot = clone(tensor.to(params[index].dtype()).to(params[index].device()));
    }
    EMBER_CHECK(state.exp_avg.defined() && state.exp_avg_sq.defined(), "Adam::load_state: moments of parameter ",
                index, " are missing");
  }
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{{std::move(params), options.lr, options.weight_decay}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Adam("AdamW", std::move(groups), AdamOptions{options.lr, options.beta1, options.beta2, options.eps,
                                                   options.weight_decay}, true) {}

}  // namespace ember::optim
