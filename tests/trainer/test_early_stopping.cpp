// EarlyStopping with scripted validation losses.
#include <limits>

#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/early_stopping.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;
using trainer::EarlyStopping;
using trainer::EarlyStoppingOptions;

namespace {

// Reports the next value of `script` as val_loss at each validation.
class Scripted : public trainer::TrainModule {
 public:
  explicit Scripted(std::vector<double> script) : script_(std::move(script)) {
    layer = register_module("layer", std::make_shared<nn::Linear>(1, 1));
  }
  Tensor forward(const Tensor& x) override { return (*layer)(x); }
  std::string type_name() const override { return "Scripted"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override { return mean(forward(batch[0])); }
  void validation_step(const data::Batch&, std::int64_t) override { log("val_loss", script_.at(epoch_++)); }
  trainer::OptimizerConfig configure_optimizers() override {
    return {std::make_unique<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.0}), nullptr};
  }
  std::shared_ptr<nn::Linear> layer;

 private:
  std::vector<double> script_;
  std::size_t epoch_ = 0;
};

// Runs up to len(script) epochs and returns how many ran and the callback.
std::pair<std::int64_t, std::shared_ptr<EarlyStopping>> run(std::vector<double> script, EarlyStoppingOptions options) {
  const auto epochs = static_cast<std::int64_t>(script.size());
  Scripted module(std::move(script));
  auto stopper = std::make_shared<EarlyStopping>(options);
  auto data = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({2, 1})});
  data::DataLoader train(data, {.batch_size = 2}), validation(data, {.batch_size = 2});
  trainer::Trainer trainer({.max_epochs = epochs, .callbacks = {stopper}});
  trainer.fit(module, train, &validation);
  return {trainer.current_epoch(), stopper};
}

}  // namespace

TEST_CASE("EarlyStopping stops after patience checks without improvement") {
  // Best 0.9 at epoch 1; epochs 2 and 3 do not beat it -> stop after epoch 3 (4 epochs ran).
  const auto [epochs, stopper] = run({1.0, 0.9, 0.95, 0.92, 0.5, 0.4}, {.patience = 2});
  CHECK(epochs == 4);
  CHECK(stopper->best() == 0.9);
  CHECK(contains(stopper->reason(), "did not improve in the last 2 checks"));
}

TEST_CASE("EarlyStopping's min_delta + thresholds + finiteness and max mode") {
  // 0.95 improves on 1.0 by less than min_delta 0.1: not an improvement.
  CHECK(run({1.0, 0.95, 0.93, 0.5}, {.patience = 2, .min_delta = 0.1}).first == 3);
  CHECK(run({1.0, 0.5, 0.4}, {.stopping_threshold = 0.6}).first == 2);
  CHECK(run({1.0, 5.0, 0.4}, {.divergence_threshold = 2.0}).first == 2);
  CHECK(run({1.0, std::numeric_limits<double>::quiet_NaN(), 0.4}, {}).first == 2);
  CHECK(run({0.1, 0.2, 0.3, 0.3, 0.3, 0.9}, {.mode = EarlyStoppingOptions::Mode::max, .patience = 2}).first == 5);
  CHECK(contains(error_of([] { run({1.0}, {.monitor = "val_acc"}); }), "metric 'val_acc' was not logged"));
}
