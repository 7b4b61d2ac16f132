#pragma once
// TrainModule: a Module that says how to train, validate, test and predict itself, like
// Lightning's LightningModule. The Trainer owns the loop; the module only answers per batch.
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "data/collate.h"
#include "nn/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace ember::trainer {

// What configure_optimizers returns: an optimizer and, optionally, a scheduler stepped every
// optimizer step or every epoch.
struct OptimizerConfig {
  enum class Interval { epoch, step };
  std::unique_ptr<optim::Optimizer> optimizer = nullptr;
  std::unique_ptr<optim::LRScheduler> scheduler = nullptr;
  Interval interval = Interval::epoch;
  // A ReduceLROnPlateau (alone or beside `scheduler`), stepped at each epoch end with the
  // epoch's value of `monitor`, like Lightning's {"scheduler": ..., "monitor": "val_loss"}.
  std::unique_ptr<optim::ReduceLROnPlateau> plateau = nullptr;
  std::string monitor = "val_loss";
};

// Metric values aggregated over an epoch.
using Metrics = std::map<std::string, double>;

class TrainModule : public nn::Module {
 public:
  // The loss of one training batch (the Trainer runs backward on it).
  virtual Tensor training_step(const data::Batch& batch, std::int64_t batch_index) = 0;
  // Optional: evaluate one batch and log() metrics. Runs in eval mode without grad.
  virtual void validation_step(const data::Batch& batch, std::int64_t batch_index);
  virtual void test_step(const data::Batch& batch, std::int64_t batch_index);
  // Default: forward(batch[0]).
  virtual Tensor predict_step(const data::Batch& batch, std::int64_t batch_index);
  virtual OptimizerConfig configure_optimizers() = 0;

  // Records `value` for this step. At the end of the epoch the Trainer reports the mean over the
  // epoch's steps weighted by batch_size (Lightning's self.log(on_epoch=True) with batch_size).
  void log(const std::string& name, double value, std::int64_t batch_size = 1);
  // The same for a one-element tensor (a loss, an accuracy), accumulated on the tensor's device:
  // nothing is read back to the host until the epoch's metrics are taken, so logging adds no
  // wait for the GPU to a training step (log(name, loss.item()) would add one each step).
  void log(const std::string& name, const Tensor& value, std::int64_t batch_size = 1);
  // Records a ratio whose epoch value is sum(numerators) / sum(denominators) over the epoch's
  // steps (and every rank): an IoU from its intersection and union counts, a precision, a
  // recall. Exact where a mean of per-step ratios would not be. NaN when the denominators sum to 0.
  void log_ratio(const std::string& name, double numerator, double denominator);
  // The weighted means of everything logged since the last call (with derive_epoch_metrics'
  // additions), and a fresh start.
  Metrics take_epoch_metrics();
  // Optional: adds metrics computed from an epoch's aggregated ones, after they are reduced
  // across ranks (a mean IoU from the per-class IoUs logged with log_ratio). Called for every
  // training epoch, validation and test.
  virtual void derive_epoch_metrics(Metrics& metrics) const;

  // What log() has gathered so far, set aside while a validation runs in the middle of a
  // training epoch (val_check_interval) and put back afterwards.
  struct Accumulator {
    double weighted_sum = 0;
    double weight = 0;
    Tensor device_weighted_sum;  // log(name, Tensor)'s part of the sum, still on its device
    // weighted_sum plus the device-side part: reads it back (once per metric and epoch).
    double total_weighted_sum() const;
  };
  using LogState = std::map<std::string, Accumulator>;
  LogState set_aside_logs() { return std::exchange(logged_, {}); }
  const LogState& logs() const { return logged_; }
  void restore_logs(LogState logs) { logged_ = std::move(logs); }

 private:
  LogState logged_;
};

}  // namespace ember::trainer
