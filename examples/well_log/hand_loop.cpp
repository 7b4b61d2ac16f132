#include "hand_loop.h"

#include "core/ember.h"

namespace well_log {

std::vector<double> train_by_hand(Segmenter& model, ember::data::DataLoader& train, const HandLoopOptions& options) {
  ember::trainer::OptimizerConfig config = model.configure_optimizers();
  ember::optim::Optimizer& optimizer = *config.optimizer;
  std::vector<double> epoch_losses;
  model.train();
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    train.set_epoch(epoch);
    double total = 0;
    std::int64_t batches = 0;
    if (options.drifted) optimizer.zero_grad();
    for (const ember::data::Batch& batch : train) {
      if (!options.drifted) optimizer.zero_grad();
      const ember::Tensor loss = model.loss(model(batch[0]), batch[1]);
      loss.backward();
      optimizer.step();
      total += loss.item<double>();
      if (config.scheduler && config.interval == ember::trainer::OptimizerConfig::Interval::step) {
        config.scheduler->step();
      }
      ++batches;
    }
    if (config.scheduler && config.interval == ember::trainer::OptimizerConfig::Interval::epoch) {
      config.scheduler->step();
    }
    epoch_losses.push_back(total / static_cast<double>(batches));
  }
  return epoch_losses;
}

}  // namespace well_log
