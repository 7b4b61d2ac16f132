#pragma once
// Optimizer: owns parameter groups and per-parameter state; subclasses implement step().
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember::optim {

// Parameters that share a learning rate and weight decay (PyTorch's param_groups).
struct ParamGroup {
  std::vector<Tensor> params;
  double lr;
  double weight_decay;
  // SGD's momentum or Adam's beta1 for this group; unset, the optimizer's option. A scheduler that
  // cycles momentum (OneCycleLR) sets it, as PyTorch's sets group["momentum"] or group["betas"].
  std::optional<double> momentum = std::nullopt;
};

// An optimizer's state, for checkpoints: tensors (moments, buffers) and scalars (steps, lrs),
// named by parameter position across the groups ("state.3.exp_avg"), as PyTorch numbers them.
struct OptimizerState {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, double> scalars;
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

  // A new optimizer of this kind, with this one's hyper-parameters and no state, over `groups`
  // (ZeRO gives each rank one over its share of the parameters this way).
  virtual std::unique_ptr<Optimizer> make_like(std::vector<ParamGroup> groups) const = 0;

  // Whether `local` holds on any process that shares this optimizer's work. A sharded optimizer
  // (ZeRO stage 2: each process holds only its part of the gradients) asks them all, so the
  // GradScaler skips a step on every process or on none. A plain optimizer answers `local`.
  virtual bool on_any_process(bool local) { return local; }

  // Whether step() reads a group's momentum (SGD's momentum, Adam's beta1): what a scheduler
  // that cycles momentum needs.
  virtual bool has_momentum() const { return false; }

  // "SGD", "Adam", "AdamW": how logs and messages name the optimizer.
  const std::string& name() const { return name_; }
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  // Everything step() depends on besides the parameters: group lrs and weight decays, and the
  // subclass's per-parameter state. load_state() expects an optimizer over the same parameters.
  OptimizerState state() const;
  void load_state(const OptimizerState& state);
  // Bytes of per-parameter state tensors (moments, momentum buffers) this process holds: all of
  // them for a plain optimizer, this rank's share for a sharded one (ZeRO).
  virtual std::int64_t local_state_bytes() const;

 protected:
  Optimizer(const char* name, std::vector<ParamGroup> groups);
  // The parameters in PyTorch's numbering: group by group, in order.
  std::vector<Tensor> all_params() const;
  // Subclasses add and restore their per-parameter state under "state.<index>.".
  virtual void save_param_state(OptimizerState& out) const = 0;
  virtual void load_param_state(const OptimizerState& in) = 0;

 private:
  std::string name_;
  std::vector<ParamGroup> groups_;
};

}  // namespace ember::optim
