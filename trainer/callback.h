#pragma once
// Callback: code the Trainer runs at fixed points of the loop (Lightning's Callback).
#include <cstdint>
#include <map>
#include <string>

#include "core/tensor.h"

namespace ember::trainer {

class Trainer;
class TrainModule;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_fit_start(Trainer&, TrainModule&) {}
  // Before an epoch's first training batch (Trainer::log_metric values land in this epoch).
  virtual void on_train_epoch_start(Trainer&, TrainModule&) {}
  // After each training batch's step (or accumulation) work. `loss` is the batch's loss, detached
  // and still on its device: reading it (item()) waits for the device, so a callback reads it
  // only when it uses the value (the progress bar, at its refresh rate).
  virtual void on_train_batch_end(Trainer&, TrainModule&, std::int64_t /*batch_index*/, std::int64_t /*batches*/,
                                  const Tensor& /*loss*/) {}
  // Before each validation during fit.
  virtual void on_validation_start(Trainer&, TrainModule&) {}
  // After each validation during fit: at the epoch's end or, with val_check_interval, inside it
  // (Trainer::validation_metrics holds its results).
  virtual void on_validation_end(Trainer&, TrainModule&) {}
  // After an epoch's training batches and its validation (metrics hold both).
  virtual void on_train_epoch_end(Trainer&, TrainModule&) {}
  virtual void on_fit_end(Trainer&, TrainModule&) {}
  // What the callback must remember across a checkpoint (EarlyStopping's best value, ...).
  virtual std::map<std::string, std::string> state() const { return {}; }
  virtual void load_state(const std::map<std::string, std::string>&) {}
};

}  // namespace ember::trainer
