#include "tiny_run.h"

#include "core/ops.h"
#include "data/data_loader.h"
#include "data/dataset.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/early_stopping.h"
#include "trainer/trainer.h"

namespace ember::fuzz {

namespace {

class Tiny : public trainer::TrainModule {
 public:
  Tiny() { linear = register_module("linear", std::make_shared<nn::Linear>(2, 1)); }
  Tensor forward(const Tensor& x) override { return (*linear)(x); }
  std::string type_name() const override { return "Tiny"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    const Tensor loss = nn::functional::mse_loss(forward(batch[0]), batch[1]);
    log("train_loss", loss.detach(), batch[0].size(0));
    return loss;
  }
  trainer::OptimizerConfig configure_optimizers() override {
    auto adam = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 0.01, .amsgrad = true});
    auto schedule = std::make_unique<optim::StepLR>(*adam, 1, 0.5);
    auto plateau = std::make_unique<optim::ReduceLROnPlateau>(*adam);
    return {.optimizer = std::move(adam), .scheduler = std::move(schedule), .plateau = std::move(plateau),
            .monitor = "train_loss"};
  }
  std::shared_ptr<nn::Linear> linear;
};

}  // namespace

void run_tiny(const std::string& checkpoint, const std::string& root, std::int64_t max_epochs,
              const std::string& save_to) {
  Tiny module;
  Generator generator(3);
  const Tensor x = randn({4, 2}, {}, generator);
  data::DataLoader loader(std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, sum(x, {1}, true)}),
                          {.batch_size = 2});
  trainer::Trainer trainer({.max_epochs = max_epochs,
                            .default_root_dir = root,
                            .callbacks = {std::make_shared<trainer::EarlyStopping>(
                                trainer::EarlyStoppingOptions{.monitor = "train_loss"})},
                            .precision = "16-mixed"});
  trainer.fit(module, loader, nullptr, checkpoint);
  if (!save_to.empty()) trainer.save_checkpoint(save_to, module);
}

}  // namespace ember::fuzz
