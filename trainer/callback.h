#pragma once
// Callback: code the Trainer runs at fixed points of the loop (Lightning's Callback).
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
};

}  // namespace ember::trainer
