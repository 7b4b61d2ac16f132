#include "optim/adam.h"

#include <map>
#include <vector>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"
#include "optim/state_value.h"

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
    // Parameters of the group that share a step count (all of them, unless some had no gradient
    // at some step) take one fused step.
    struct Lists {
      std::vector<Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs;
    };
    std::map<std::int64_t, Lists> by_step;
    for (const Tensor& param : group.params) {
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      State& state = state_[param.impl()];
      if (state.step == 0) {
        state.exp_avg = zeros_like(param);
        state.exp_avg_sq = zeros_like(param);
        if (options_.amsgrad) state.max_exp_avg_sq = zeros_like(param);
      }
      Lists& lists = by_step[++state.step];
      lists.params.push_back(param);
      lists.grads.push_back(grad);
      lists.exp_avgs.push_back(state.exp_avg);
      lists.exp_avg_sqs.push_back(state.exp_avg_sq);
      if (options_.amsgrad) lists.max_exp_avg_sqs.push_back(state.max_exp_avg_sq);
    }
    for (const auto& [step, lists] : by_step) {
      adam_step_(lists.params, lists.grads, lists.exp_avgs, lists.exp_avg_sqs, lists.max_exp_avg_sqs,
                 hyper(group, step));
    }
  }
}

AdamHyper Adam::hyper(const ParamGroup& group, std::int64_t step) const {
  return {group.lr, group.momentum.value_or(options_.beta1), options_.beta2, options_.eps, group.weight_decay, decoupled_, step,
          options_.maximize, options_.amsgrad};
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
    if (options_.amsgrad) out.tensors.emplace_back(prefix + "max_exp_avg_sq", found->second.max_exp_avg_sq);
  }
}

void Adam::load_param_state(const OptimizerState& in) {
  NoGradGuard no_grad;
  state_.clear();
  const std::vector<Tensor> params = all_params();
  for (const auto& [name, steps] : in.scalars) {
    if (name.rfind("state.", 0) != 0) continue;
    const std::size_t index = state_index(name, "Adam::load_state");
    EMBER_CHECK(index < params.size(), "Adam::load_state: state for parameter ", index, ", but this optimizer has ",
                params.size());
    const std::string prefix = "state." + std::to_string(index) + ".";
    State& state = state_[params[index].impl()];
    state.step = whole_count(steps, "Adam.load_state: a parameter's step", 1);
    const std::map<std::string, Tensor*> slots = {{prefix + "exp_avg", &state.exp_avg},
                                                  {prefix + "exp_avg_sq", &state.exp_avg_sq},
                                                  {prefix + "max_exp_avg_sq", &state.max_exp_avg_sq}};
    for (const auto& [tensor_name, tensor] : in.tensors) {
      if (tensor_name.rfind(prefix, 0) != 0) continue;
      const auto slot = slots.find(tensor_name);
      EMBER_CHECK(slot != slots.end(), "Adam::load_state: unknown state '", tensor_name, "'");
      EMBER_CHECK(tensor.sizes() == params[index].sizes(), "Adam::load_state: '", tensor_name, "' has shape ",
                  to_string(tensor.sizes()), ", parameter ", index, " has ", to_string(params[index].sizes()));
      *slot->second = clone(tensor.to(params[index].dtype()).to(params[index].device()));
    }
    EMBER_CHECK(state.exp_avg.defined() && state.exp_avg_sq.defined(), "Adam::load_state: moments of parameter ",
                index, " are missing");
    // A state saved without amsgrad resumes with the maxima at the current second moment.
    if (options_.amsgrad && !state.max_exp_avg_sq.defined()) state.max_exp_avg_sq = clone(state.exp_avg_sq);
  }
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{{std::move(params), options.lr, options.weight_decay}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Adam("AdamW", std::move(groups), AdamOptions{options.lr, options.beta1, options.beta2, options.eps,
                                                   options.weight_decay, options.maximize, options.amsgrad}, true) {}

}  // namespace ember::optim
