#pragma once
// GradScaler: dynamic loss scaling for f16 mixed precision, with PyTorch's semantics.
//
// f16 gradients underflow to zero below ~6e-8. Backward runs on loss * scale instead, so small
// gradients stay representable; before the optimizer steps, the gradients are divided by the
// scale again (unscale_) and checked for inf/NaN. A step whose gradients overflowed is skipped
// and the scale halves; after growth_interval clean steps in a row the scale doubles.
//
// Per iteration:  scaler.scale(loss).backward();  scaler.unscale_(opt) (optional, before
// clipping);  scaler.step(opt);  scaler.update();
#include <cstdint>
#include <map>
#include <string>

#include "optim/optimizer.h"

namespace ember::optim {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  std::int64_t growth_interval = 2000;
  bool enabled = true;  // disabled: every method is a pass-through, scale() returns the loss
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale (a differentiable op), or `loss` itself when disabled.
  Tensor scale(const Tensor& loss) const;
  // Divides every gradient of `optimizer` by the scale, in place, and records whether any was
  // inf or NaN. At most once between two update() calls; step() calls it if nobody did.
  void unscale_(Optimizer& optimizer);
  // Steps `optimizer` unless the unscaled gradients held an inf or NaN; returns whether it stepped.
  bool step(Optimizer& optimizer);
  // After step(): halves the scale if the step was skipped, else counts a clean step and
  // doubles the scale after growth_interval of them.
  void update();

  double get_scale() const { return options_.enabled ? scale_ : 1.0; }
  bool is_enabled() const { return options_.enabled; }
  // Whether the latest unscale_ found an inf or NaN (the step it precedes is skipped).
  bool found_inf() const { return found_inf_; }

  // For checkpoints, PyTorch's state_dict keys: scale, growth_factor, backoff_factor,
  // growth_interval, _growth_tracker.
  std::map<std::string, double> state() const;
  void load_state(const std::map<std::string, double>& state);

 private:
  enum class Stage { ready, unscaled, stepped };

  GradScalerOptions options_;
  double scale_;
  std::int64_t growth_tracker_ = 0;  // clean steps in a row since the last growth or backoff
  Stage stage_ = Stage::ready;
  bool found_inf_ = false;
};

}  // namespace ember::optim
