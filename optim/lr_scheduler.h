#pragma once
// Learning-rate schedulers with PyTorch's formulas. Each sets the lr of every parameter group
// from that group's initial lr ("base lr") and the number of step() calls so far.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  // Advances one step (an epoch or a batch, as the caller decides) and updates the lrs.
  void step();
  std::int64_t last_epoch() const { return last_epoch_; }
  std::vector<double> last_lr() const;
  // Restores the step count (from a checkpoint) and the lrs it implies.
  void set_last_epoch(std::int64_t last_epoch);

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // The lr of a group with initial lr `base` after `epoch` steps.
  virtual double lr_at(double base, std::int64_t epoch) const = 0;
  // The momentum every group gets after `epoch` steps, for a scheduler that cycles it.
  virtual std::optional<double> momentum_at(std::int64_t) const { return std::nullopt; }
  // Sets every group's lr for the current epoch (subclasses call it once constructed).
  void apply();
  Optimizer& optimizer_;

 private:
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = 0;
};

// base * gamma^(epoch / step_size)
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// base * gamma^(number of milestones reached)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

// eta_min + (base - eta_min) (1 + cos(pi epoch / t_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

// Linear warmup from base * start_factor to base over warmup_steps, then cosine annealing to
// eta_min at total_steps (the usual transformer schedule; not in torch.optim itself).
class LinearWarmupCosineLR : public LRScheduler {
 public:
  LinearWarmupCosineLR(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps, double eta_min = 0,
                       double start_factor = 0);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;

 private:
  std::int64_t warmup_steps_, total_steps_;
  double eta_min_, start_factor_;
};

// PyTorch's OneCycleLR options and defaults.
struct OneCycleOptions {
  double pct_start = 0.3;  // the fraction of the steps spent warming up
  enum class Anneal { cos, linear } anneal_strategy = Anneal::cos;
  // Momentum (SGD's, or Adam's beta1) moves against the lr: max_momentum at the start and the
  // end, base_momentum at the peak lr.
  bool cycle_momentum = true;
  double base_momentum = 0.85, max_momentum = 0.95;
  double div_factor = 25;         // the initial lr is max_lr / div_factor
  double final_div_factor = 1e4;  // the last lr is the initial lr / final_div_factor
  // Three phases: up to max_lr, back down to the initial lr over as many steps, then down to the
  // last lr; two phases (the default) go from max_lr straight to the last lr.
  bool three_phase = false;
};

// OneCycleLR (Smith & Topin 2018), PyTorch's phases: from max_lr / div_factor up to max_lr over
// pct_start of total_steps, then down (annealed by cosine or linearly). The lrs come from max_lr,
// not the groups' own lrs.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, const OneCycleOptions& options = {});

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::optional<double> momentum_at(std::int64_t epoch) const override;

 private:
  // A phase runs from the previous phase's end step (0 for the first) to end_step.
  struct Phase {
    double end_step, start_lr, end_lr, start_momentum, end_momentum;
  };
  // The phase of step `epoch` and how far into it the step is (past 1 after the last phase's end).
  std::pair<const Phase*, double> locate(std::int64_t epoch) const;
  double anneal(double start, double end, double fraction) const;

  std::int64_t total_steps_;
  OneCycleOptions options_;
  std::vector<Phase> phases_;
};

// Multiplies the lrs by `factor` when the monitored metric has not improved (relative threshold,
// PyTorch's default mode "rel") for more than `patience` steps; waits `cooldown` steps after a cut.
class ReduceLROnPlateau {
 public:
  enum class Mode { min, max };
  // PyTorch's threshold_mode: rel improves on best by the fraction `threshold` (best * (1 -
  // threshold) in min mode), abs by `threshold` itself (best - threshold).
  enum class ThresholdMode { rel, abs };
  ReduceLROnPlateau(Optimizer& optimizer, Mode mode = Mode::min, double factor = 0.1, std::int64_t patience = 10,
                    double threshold = 1e-4, std::int64_t cooldown = 0, double min_lr = 0, double eps = 1e-8,
                    ThresholdMode threshold_mode = ThresholdMode::rel);
  void step(double metric);
  std::vector<double> last_lr() const;

  // What step() remembers between calls (the lrs live in the optimizer's state).
  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  bool improves(double metric) const;
  Optimizer& optimizer_;
  Mode mode_;
  ThresholdMode threshold_mode_;
  double factor_, threshold_, min_lr_, eps_;
  std::int64_t patience_, cooldown_;
  double best_;
  std::int64_t bad_steps_ = 0, cooldown_left_ = 0;
};

}  // namespace ember::optim
