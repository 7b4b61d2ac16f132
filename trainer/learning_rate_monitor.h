#pragma once
// LearningRateMonitor: adds each parameter group's learning rate to the epoch's metrics, so the
// loggers record it beside the losses. Names follow Lightning: "lr-Adam" for one group,
// "lr-Adam/pg1", "lr-Adam/pg2", ... for several. The value is the lr the epoch starts with
// (Lightning's logging_interval="epoch"; per-step values are not logged).
#include "trainer/callback.h"

namespace ember::trainer {

class LearningRateMonitor : public Callback {
 public:
  void on_train_epoch_start(Trainer& trainer, TrainModule& module) override;
};

}  // namespace ember::trainer
