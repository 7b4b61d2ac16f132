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
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i].lr = lr_at(base_lrs_[i], last_epoch_);
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

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, double pct_start,
                       double div_factor, double final_div_factor)
    : LRScheduler(optimizer), max_lr_(max_lr), total_steps_(total_steps), pct_start_(pct_start),
      div_factor_(div_factor), final_div_factor_(final_div_factor) {
  EMBER_CHECK(total_steps > 1 && pct_start > 0 && pct_start < 1, "OneCycleLR: need total_steps > 1 and 0 < pct_start < 1");
  apply();
}

double OneCycleLR::lr_at(double, std::int64_t epoch) const {
  // Like PyTorch: total_steps calls of step() (one per batch of a run that long) are allowed; the
  // last one extrapolates the cool phase a step past its end.
  EMBER_CHECK(epoch <= total_steps_, "OneCycleLR: tried to step ", epoch, " times, more than total_steps ",
              total_steps_);
  const double initial = max_lr_ / div_factor_;
  const double final_lr = initial / final_div_factor_;
  // The warm phase ends at step pct_start * total - 1, the cool phase at total - 1 (PyTorch's phases).
  const double warm_end = pct_start_ * static_cast<double>(total_steps_) - 1;
  const double cool_end = static_cast<double>(total_steps_) - 1;
  const auto step = static_cast<double>(epoch);
  if (step <= warm_end) return cosine_anneal(initial, max_lr_, step / warm_end);
  return cosine_anneal(max_lr_, final_lr, (step - warm_end) / (cool_end - warm_end));
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
