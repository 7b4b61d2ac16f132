#include "trainer/learning_rate_monitor.h"

#include "trainer/trainer.h"

namespace ember::trainer {

void LearningRateMonitor::on_train_epoch_start(Trainer& trainer, TrainModule&) {
  const optim::Optimizer* optimizer = trainer.optimizer();
  EMBER_CHECK(optimizer != nullptr, "LearningRateMonitor: the trainer has no optimizer yet");
  const auto& groups = optimizer->param_groups();
  const std::string name = "lr-" + optimizer->name();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    trainer.log_metric(groups.size() == 1 ? name : name + "/pg" + std::to_string(i + 1), groups[i].lr);
  }
}

}  // namespace ember::trainer
