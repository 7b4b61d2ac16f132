#pragma once
// Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019) with PyTorch's formulas and defaults.
#include <unordered_map>

#include "core/ops/optimizer.h"
#include "optim/optimizer.h"

namespace ember::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool maximize = false;  // PyTorch's: ascend the objective instead of descending it
  bool amsgrad = false;   // divide by the running maximum of the second moment (Reddi et al. 2018)
};

// Adam: L2 weight decay is added to the gradient. The update of a group's parameters is one fused
// op, adam_step_ (core/ops/optimizer.h), on whatever device they live.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
  void step() override;
  bool has_momentum() const override { return true; }  // beta1, as PyTorch's OneCycleLR cycles it
  std::unique_ptr<Optimizer> make_like(std::vector<ParamGroup> groups) const override;

 protected:
  Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);
  void save_param_state(OptimizerState& out) const override;
  void load_param_state(const OptimizerState& in) override;

 private:
  AdamHyper hyper(const ParamGroup& group, std::int64_t step) const;

  struct State {
    std::int64_t step = 0;
    Tensor exp_avg;     // first moment
    Tensor exp_avg_sq;  // second moment
    Tensor max_exp_avg_sq;  // its running maximum (amsgrad only)
  };
  AdamOptions options_;
  bool decoupled_;
  std::unordered_map<const void*, State> state_;  // keyed by the parameter's TensorImpl
};

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // AdamW's default, unlike Adam's 0
  bool maximize = false;
  bool amsgrad = false;
};

// AdamW: weight decay shrinks the parameter directly (p -= lr * wd * p) before the Adam step.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
};

}  // namespace ember::optim
