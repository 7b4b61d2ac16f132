#include "optim/optimizer.h"

#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"

namespace ember::optim {

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups) : name_(name), groups_(std::move(groups)) {
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

std::vector<Tensor> Optimizer::all_params() const {
  std::vector<Tensor> params;
  for (const ParamGroup& group : groups_) params.insert(params.end(), group.params.begin(), group.params.end());
  return params;
}

OptimizerState Optimizer::state() const {
  OptimizerState out;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    out.scalars["group." + std::to_string(g) + ".lr"] = groups_[g].lr;
    out.scalars["group." + std::to_string(g) + ".weight_decay"] = groups_[g].weight_decay;
    if (groups_[g].momentum) out.scalars["group." + std::to_string(g) + ".momentum"] = *groups_[g].momentum;
  }
  save_param_state(out);
  return out;
}

std::int64_t Optimizer::local_state_bytes() const {
  OptimizerState tensors;
  save_param_state(tensors);
  std::int64_t bytes = 0;
  for (const auto& entry : tensors.tensors) {
    bytes += entry.second.numel() * static_cast<std::int64_t>(size_of(entry.second.dtype()));
  }
  return bytes;
}

void Optimizer::load_state(const OptimizerState& state) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = "group." + std::to_string(g) + ".";
    const auto lr = state.scalars.find(prefix + "lr");
    const auto decay = state.scalars.find(prefix + "weight_decay");
    EMBER_CHECK(lr != state.scalars.end() && decay != state.scalars.end(), "load_state: the saved optimizer state has "
                "no parameter group ", g, " (it was saved from a different optimizer setup)");
    groups_[g].lr = lr->second;
    groups_[g].weight_decay = decay->second;
    const auto momentum = state.scalars.find(prefix + "momentum");
    groups_[g].momentum = momentum == state.scalars.end() ? std::nullopt : std::optional<double>(momentum->second);
  }
  load_param_state(state);
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
