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
#include <optional>
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
  // Divides every gradient of `optimizer` by the scale, in place, and records on each device
  // whether any was inf or NaN, without waiting for the device (PyTorch's scheme: the flag is
  // read when step() needs it). At most once between two update() calls; step() calls it if
  // nobody did.
  void unscale_(Optimizer& optimizer);
  // Steps `optimizer` unless the unscaled gradients held an inf or NaN; returns whether it stepped.
  // Reads the inf/NaN flags: the one wait for the device in a mixed-precision step.
  bool step(Optimizer& optimizer);
  // After step(): halves the scale if the step was skipped, else counts a clean step and
  // doubles the scale after growth_interval of them.
  void update();

  double get_scale() const { return options_.enabled ? scale_ : 1.0; }
  bool is_enabled() const { return options_.enabled; }
  // Whether the latest unscale_ found an inf or NaN (the step it precedes is skipped). Reads the
  // devices' flags the first time it is asked after an unscale_.
  bool found_inf() const;

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
  // unscale_'s inf/NaN flags, one f32 per device the gradients live on, not read yet.
  std::map<Device, Tensor> found_inf_per_device_;
  // Whether any flag was set on any process; read from the flags by found_inf().
  mutable std::optional<bool> found_inf_;
  Optimizer* unscaled_ = nullptr;  // whose gradients unscale_ checked (it asks its processes)
};

}  // namespace ember::optim
