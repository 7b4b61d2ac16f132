#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "optim/state_value.h"

namespace ember::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (const ParamGroup& group : optimizer.param_groups()) base_lrs_.push_back(group.lr);
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

void LRScheduler::set_last_epoch(std::int64_t last_epoch) {
  EMBER_CHECK(last_epoch >= 0, "LRScheduler: last_epoch must be >= 0, got ", last_epoch);
  last_epoch_ = last_epoch;
  apply();
}

void LRScheduler::apply() {
  auto& groups = optimizer_.param_groups();
  const std::optional<double> momentum = momentum_at(last_epoch_);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i].lr = lr_at(base_lrs_[i], last_epoch_);
    if (momentum) groups[i].momentum = momentum;
  }
}

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> lrs;
  for (const ParamGroup& group : optimizer_.param_groups()) lrs.push_back(group.lr);
  return lrs;
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
  apply();
}

double StepLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  EMBER_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR: milestones must be increasing");
  apply();
}

double MultiStepLR::lr_at(double base, std::int64_t epoch) const {
  const auto reached = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base * std::pow(gamma_, static_cast<double>(reached));
}

namespace {
// From `start` at fraction 0 to `end` at fraction 1 along half a cosine.
double cosine_anneal(double start, double end, double fraction) {
  return end + (start - end) * (1 + std::cos(std::numbers::pi * fraction)) / 2;
}
}  // namespace

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  EMBER_CHECK(t_max > 0, "CosineAnnealingLR: t_max must be positive, got ", t_max);
  apply();
}

double CosineAnnealingLR::lr_at(double base, std::int64_t epoch) const {
  return cosine_anneal(base, eta_min_, static_cast<double>(epoch) / static_cast<double>(t_max_));
}

LinearWarmupCosineLR::LinearWarmupCosineLR(Optimizer& optimizer, std::int64_t warmup_steps, std::int64_t total_steps,
                                           double eta_min, double start_factor)
    : LRScheduler(optimizer), warmup_steps_(warmup_steps), total_steps_(total_steps), eta_min_(eta_min),
      start_factor_(start_factor) {
  EMBER_CHECK(warmup_steps >= 0 && total_steps > warmup_steps, "LinearWarmupCosineLR: need 0 <= warmup_steps (",
              warmup_steps, ") < total_steps (", total_steps, ")");
  apply();
}

double LinearWarmupCosineLR::lr_at(double base, std::int64_t epoch) const {
  if (epoch < warmup_steps_) {
    const double fraction = static_cast<double>(epoch) / static_cast<double>(warmup_steps_);
    return base * (start_factor_ + (1 - start_factor_) * fraction);
  }
  const double fraction = std::min(1.0, static_cast<double>(epoch - warmup_steps_) /
                                            static_cast<double>(total_steps_ - warmup_steps_));
  return cosine_anneal(base, eta_min_, fraction);
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, const OneCycleOptions& options)
    : LRScheduler(optimizer), total_steps_(total_steps), options_(options) {
  const double pct = options.pct_start;
  EMBER_CHECK(total_steps > 1 && pct > 0 && pct < 1, "OneCycleLR: need total_steps > 1 and 0 < pct_start < 1, got ",
              total_steps, " and ", pct);
  EMBER_CHECK(options.div_factor > 0 && options.final_div_factor > 0, "OneCycleLR: div_factor and final_div_factor "
              "must be positive, got ", options.div_factor, " and ", options.final_div_factor);
  EMBER_CHECK(!options.cycle_momentum || optimizer.has_momentum(), "OneCycleLR: cycle_momentum needs an optimizer "
              "with a momentum or beta1, and ", optimizer.name(), " has none; set cycle_momentum = false");
  const double initial = max_lr / options.div_factor, last = initial / options.final_div_factor;
  const double total = static_cast<double>(total_steps), low = options.base_momentum, high = options.max_momentum;
  if (options.three_phase) {
    phases_ = {{pct * total - 1, initial, max_lr, high, low},
               {2 * pct * total - 2, max_lr, initial, low, high},
               {total - 1, initial, last, high, high}};
  } else {
    phases_ = {{pct * total - 1, initial, max_lr, high, low}, {total - 1, max_lr, last, low, high}};
  }
  // (A tolerance, not > 0: a fused multiply-add leaves 0.1 * 10 - 1 at 5.6e-17, where PyTorch
  // computes 0 and divides by it.)
  double start = 0;
  for (const Phase& phase : phases_) {
    EMBER_CHECK(phase.end_step - start > 1e-9, "OneCycleLR: pct_start ", pct, " of ", total_steps, " steps leaves a phase "
                "without steps", options.three_phase ? " (three phases)" : "");
    start = phase.end_step;
  }
  apply();
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::locate(std::int64_t epoch) const {
  // Like PyTorch: total_steps calls of step() (one per batch of a run that long) are allowed; the
  // last one extrapolates the last phase a step past its end.
  EMBER_CHECK(epoch <= total_steps_, "OneCycleLR: tried to step ", epoch, " times, more than total_steps ",
              total_steps_);
  const auto step = static_cast<double>(epoch);
  double start = 0;
  for (const Phase& phase : phases_) {
    if (step <= phase.end_step || &phase == &phases_.back()) return {&phase, (step - start) / (phase.end_step - start)};
    start = phase.end_step;
  }
  return {&phases_.back(), 1.0};  // not reached: the last phase takes every step past the others
}

double OneCycleLR::anneal(double start, double end, double fraction) const {
  if (options_.anneal_strategy == OneCycleOptions::Anneal::linear) return start + (end - start) * fraction;
  return cosine_anneal(start, end, fraction);
}

double OneCycleLR::lr_at(double, std::int64_t epoch) const {
  const auto [phase, fraction] = locate(epoch);
  return anneal(phase->start_lr, phase->end_lr, fraction);
}

std::optional<double> OneCycleLR::momentum_at(std::int64_t epoch) const {
  if (!options_.cycle_momentum) return std::nullopt;
  const auto [phase, fraction] = locate(epoch);
  return anneal(phase->start_momentum, phase->end_momentum, fraction);
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Mode mode, double factor, std::int64_t patience,
                                     double threshold, std::int64_t cooldown, double min_lr, double eps,
                                     ThresholdMode threshold_mode)
    : optimizer_(optimizer),
      mode_(mode),
      threshold_mode_(threshold_mode),
      factor_(factor),
      threshold_(threshold),
      min_lr_(min_lr),
      eps_(eps),
      patience_(patience),
      cooldown_(cooldown),
      best_(mode == Mode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity()) {
  EMBER_CHECK(factor > 0 && factor < 1, "ReduceLROnPlateau: factor must be in (0, 1), got ", factor);
}

bool ReduceLROnPlateau::improves(double metric) const {
  if (threshold_mode_ == ThresholdMode::abs) {
    return mode_ == Mode::min ? metric < best_ - threshold_ : metric > best_ + threshold_;
  }
  return mode_ == Mode::min ? metric < best_ * (1 - threshold_) : metric > best_ * (1 + threshold_);
}

void ReduceLROnPlateau::step(double metric) {
  if (improves(metric)) {
    best_ = metric;
    bad_steps_ = 0;
  } else {
    ++bad_steps_;
  }
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    bad_steps_ = 0;  // bad steps during the cooldown do not count
  }
  if (bad_steps_ > patience_) {
    for (ParamGroup& group : optimizer_.param_groups()) {
      // As PyTorch: a reduction smaller than eps is not made, so a long plateau leaves the lr
      // at the last value whose halving would still change it by more than eps.
      const double reduced = std::max(group.lr * factor_, min_lr_);
      if (group.lr - reduced > eps_) group.lr = reduced;
    }
    cooldown_left_ = cooldown_;
    bad_steps_ = 0;
  }
}

std::map<std::string, double> ReduceLROnPlateau::state() const {
  return {{"best", best_},
          {"bad_steps", static_cast<double>(bad_steps_)},
          {"cooldown_left", static_cast<double>(cooldown_left_)}};
}

void ReduceLROnPlateau::load_state(const std::map<std::string, double>& state) {
  for (const char* key : {"best", "bad_steps", "cooldown_left"}) {
    EMBER_CHECK(state.count(key) == 1, "ReduceLROnPlateau::load_state: missing '", key, "'");
  }
  best_ = state.at("best");
  bad_steps_ = whole_count(state.at("bad_steps"), "ReduceLROnPlateau.load_state: bad_steps");
  cooldown_left_ = whole_count(state.at("cooldown_left"), "ReduceLROnPlateau.load_state: cooldown_left");
}

std::vector<double> ReduceLROnPlateau::last_lr() const {
  std::vector<double> lrs;
  for (const ParamGroup& group : optimizer_.param_groups()) lrs.push_back(group.lr);
  return lrs;
}

}  // namespace ember::optim
