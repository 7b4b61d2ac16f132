#include "optim/grad_scaler.h"

#include <cmath>
#include <map>
#include <vector>

#include "core/autograd/grad_mode.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/optimizer.h"
#include "optim/state_value.h"

namespace ember::optim {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  EMBER_CHECK(options.init_scale > 0 && std::isfinite(options.init_scale),
              "GradScaler: init_scale must be positive and finite, got ", options.init_scale);
  EMBER_CHECK(options.growth_factor > 1.0, "GradScaler: growth_factor must be > 1, got ", options.growth_factor);
  EMBER_CHECK(options.backoff_factor > 0.0 && options.backoff_factor < 1.0,
              "GradScaler: backoff_factor must be in (0, 1), got ", options.backoff_factor);
  EMBER_CHECK(options.growth_interval >= 1, "GradScaler: growth_interval must be at least 1, got ",
              options.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const {
  if (!options_.enabled) return loss;
  EMBER_CHECK(loss.defined() && is_floating(loss.dtype()), "GradScaler.scale: expected a floating loss, got ",
              loss.defined() ? describe(loss) : "an undefined tensor");
  return loss * scale_;
}

void GradScaler::unscale_(Optimizer& optimizer) {
  if (!options_.enabled) return;
  EMBER_CHECK(stage_ == Stage::ready, "GradScaler.unscale_: already called (or step() was) since the last update()");
  NoGradGuard no_grad;
  // One fused op per device, each with its own flag (PyTorch's found_inf_per_device).
  std::map<Device, std::vector<Tensor>> grads_per_device;
  for (const ParamGroup& group : optimizer.param_groups()) {
    for (const Tensor& param : group.params) {
      const Tensor grad = param.grad();
      if (grad.defined()) grads_per_device[grad.device()].push_back(grad);
    }
  }
  found_inf_per_device_.clear();
  for (const auto& [device, grads] : grads_per_device) {
    const Tensor found = zeros({1}, {.dtype = DType::f32, .device = device});
    unscale_and_check_finite_(grads, 1.0 / scale_, found);
    found_inf_per_device_.emplace(device, found);
  }
  found_inf_.reset();
  unscaled_ = &optimizer;
  stage_ = Stage::unscaled;
}

bool GradScaler::found_inf() const {
  if (!found_inf_.has_value()) {
    bool local = false;
    for (const auto& [device, found] : found_inf_per_device_) local |= found.item() != 0;
    found_inf_ = unscaled_ != nullptr ? unscaled_->on_any_process(local) : local;
  }
  return *found_inf_;
}

bool GradScaler::step(Optimizer& optimizer) {
  if (!options_.enabled) {
    optimizer.step();
    return true;
  }
  EMBER_CHECK(stage_ != Stage::stepped, "GradScaler.step: already called since the last update()");
  if (stage_ == Stage::ready) unscale_(optimizer);
  stage_ = Stage::stepped;
  if (found_inf()) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!options_.enabled) return;
  EMBER_CHECK(stage_ != Stage::ready, "GradScaler.update: no inf/NaN check was recorded since the last update() "
              "(call step() or unscale_() first)");
  if (found_inf()) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    // Like PyTorch, the scale only grows while it stays finite.
    const double grown = scale_ * options_.growth_factor;
    if (std::isfinite(static_cast<float>(grown))) scale_ = grown;
    growth_tracker_ = 0;
  }
  stage_ = Stage::ready;
  found_inf_per_device_.clear();
  found_inf_ = false;
  unscaled_ = nullptr;
}

std::map<std::string, double> GradScaler::state() const {
  return {{"scale", scale_},
          {"growth_factor", options_.growth_factor},
          {"backoff_factor", options_.backoff_factor},
          {"growth_interval", static_cast<double>(options_.growth_interval)},
          {"_growth_tracker", static_cast<double>(growth_tracker_)}};
}

void GradScaler::load_state(const std::map<std::string, double>& state) {
  auto required = [&](const char* key) {
    const auto found = state.find(key);
    EMBER_CHECK(found != state.end(), "GradScaler.load_state: state has no '", key, "'");
    return found->second;
  };
  scale_ = required("scale");
  options_.growth_factor = required("growth_factor");
  options_.backoff_factor = required("backoff_factor");
  options_.growth_interval = whole_count(required("growth_interval"), "GradScaler.load_state: growth_interval", 1);
  growth_tracker_ = whole_count(required("_growth_tracker"), "GradScaler.load_state: _growth_tracker");
  stage_ = Stage::ready;
  found_inf_per_device_.clear();
  found_inf_ = false;
  unscaled_ = nullptr;
}

}  // namespace ember::optim
