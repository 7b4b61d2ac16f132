#pragma once
// The Trainer tests' small problem: y = x . (1, -2, 0.5) and a 3-8-1 tanh regressor trained on
// it with SGD (momentum), logging its training loss weighted by batch size.
#include <cstdint>
#include <memory>

#include "core/ember.h"
#include "data/dataset.h"
#include "nn/nn.h"
#include "optim/sgd.h"
#include "trainer/train_module.h"

namespace ember::testing {

// n random inputs from `seed` and their targets.
inline std::shared_ptr<data::TensorDataset> regression_data(std::int64_t n, std::uint64_t seed = 17) {
  Generator generator(seed);
  const Tensor x = randn({n, 3}, {}, generator);
  const Tensor y = sum(x * from_vector<float>({1, -2, 0.5}), {1}, true);
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y});
}

// Every instance starts from the same weights.
class Regressor : public trainer::TrainModule {
 public:
  Regressor() {
    Generator generator(5);
    net = register_module("net", std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
                                     std::make_shared<nn::Linear>(3, 8), std::make_shared<nn::Tanh>(),
                                     std::make_shared<nn::Linear>(8, 1)}));
    for (const Tensor& p : parameters()) nn::init::uniform_(p, -0.5, 0.5, generator);
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  std::string type_name() const override { return "Regressor"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    const Tensor loss = nn::functional::mse_loss(forward(batch[0]), batch[1]);
    log("train_loss", loss, batch[0].size(0));
    return loss;
  }
  trainer::OptimizerConfig configure_optimizers() override {
    return {.optimizer = std::make_unique<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.05, .momentum = 0.9})};
  }
  std::shared_ptr<nn::Sequential> net;
};

}  // namespace ember::testing
