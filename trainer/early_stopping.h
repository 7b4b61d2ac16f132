#pragma once
// EarlyStopping: stops fit when a monitored metric stops improving (Lightning's semantics).
#include <limits>
#include <optional>
#include <string>

#include "trainer/callback.h"

namespace ember::trainer {

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  enum class Mode { min, max } mode = Mode::min;
  std::int64_t patience = 3;   // checks without improvement before stopping
  double min_delta = 0;        // an improvement must beat the best by more than this
  bool check_finite = true;    // stop at once on a NaN or infinite metric
  std::optional<double> stopping_threshold = std::nullopt;    // stop once the metric is better than this
  std::optional<double> divergence_threshold = std::nullopt;  // stop once the metric is worse than this
};

class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_epoch_end(Trainer& trainer, TrainModule& module) override;
  std::map<std::string, std::string> state() const override;
  void load_state(const std::map<std::string, std::string>& state) override;

  double best() const { return best_; }
  std::int64_t wait_count() const { return wait_; }
  // Why fit was stopped ("" while it was not).
  const std::string& reason() const { return reason_; }

 private:
  bool better(double value, double reference) const;
  EarlyStoppingOptions options_;
  double best_;
  std::int64_t wait_ = 0;
  std::string reason_;
};

}  // namespace ember::trainer
