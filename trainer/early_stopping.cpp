#include "trainer/early_stopping.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "trainer/number_text.h"
#include "trainer/trainer.h"

namespace ember::trainer {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(std::move(options)),
      best_(options_.mode == EarlyStoppingOptions::Mode::min ? std::numeric_limits<double>::infinity()
                                                              : -std::numeric_limits<double>::infinity()) {
  EMBER_CHECK(options_.patience >= 0 && options_.min_delta >= 0, "EarlyStopping: patience and min_delta must be >= 0");
}

bool EarlyStopping::better(double value, double reference) const {
  return options_.mode == EarlyStoppingOptions::Mode::min ? value < reference : value > reference;
}

void EarlyStopping::on_train_epoch_end(Trainer& trainer, TrainModule&) {
  const auto found = trainer.metrics().find(options_.monitor);
  EMBER_CHECK(found != trainer.metrics().end(), "EarlyStopping: metric '", options_.monitor,
              "' was not logged this epoch (log it in training_step or validation_step)");
  const double value = found->second;
  std::ostringstream why;
  if (options_.check_finite && !std::isfinite(value)) {
    why << options_.monitor << " = " << value << " is not finite";
  } else if (options_.stopping_threshold && better(value, *options_.stopping_threshold)) {
    why << options_.monitor << " = " << value << " reached the stopping threshold " << *options_.stopping_threshold;
  } else if (options_.divergence_threshold && better(*options_.divergence_threshold, value)) {
    why << options_.monitor << " = " << value << " is past the divergence threshold " << *options_.divergence_threshold;
  } else {
    // An improvement must beat the best by more than min_delta (Lightning's rule).
    const double delta = options_.mode == EarlyStoppingOptions::Mode::min ? -options_.min_delta : options_.min_delta;
    if (better(value - delta, best_)) {
      best_ = value;
      wait_ = 0;
    } else if (++wait_ >= options_.patience) {
      why << options_.monitor << " did not improve in the last " << wait_ << " checks (best " << best_ << ")";
    }
  }
  reason_ = why.str();
  if (!reason_.empty()) trainer.request_stop();
}

std::map<std::string, std::string> EarlyStopping::state() const {
  std::ostringstream best;
  best.precision(17);
  best << best_;
  return {{"best", best.str()}, {"wait", std::to_string(wait_)}};
}

void EarlyStopping::load_state(const std::map<std::string, std::string>& state) {
  EMBER_CHECK(state.count("best") && state.count("wait"), "EarlyStopping: the checkpoint has no EarlyStopping state");
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  best_ = parse_number(state.at("best"), "EarlyStopping: the checkpoint's best", -kInfinity, kInfinity);
  wait_ = parse_number<std::int64_t>(state.at("wait"), "EarlyStopping: the checkpoint's wait", 0, std::int64_t{1} << 31);
}

}  // namespace ember::trainer
