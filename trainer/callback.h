#pragma once
// Callback: code the Trainer runs at fixed points of the loop (Lightning's Callback).
#include <map>
#include <string>

namespace ember::trainer {

class Trainer;
class TrainModule;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_fit_start(Trainer&, TrainModule&) {}
  // After an epoch's training batches and its validation (metrics hold both).
  virtual void on_train_epoch_end(Trainer&, TrainModule&) {}
  virtual void on_fit_end(Trainer&, TrainModule&) {}
  // What the callback must remember across a checkpoint (EarlyStopping's best value, ...).
  virtual std::map<std::string, std::string> state() const { return {}; }
  virtual void load_state(const std::map<std::string, std::string>&) {}
};

}  // namespace ember::trainer
