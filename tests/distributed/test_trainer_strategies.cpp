// The Trainer's distributed strategies: 2 ranks of "ddp", "zero1" and "zero2", each with a batch
// of 4, end with the weights of one "single" process with a batch of 8, and report the same
// epoch metrics (reduced across ranks), training and validation.
#include <doctest/doctest.h>

#include "nn/nn.h"
#include "optim/adam.h"
#include "ranks.h"
#include "tiny_problem.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;

namespace {

// y = x . (1, -2, 0.5) for n random x.
std::shared_ptr<data::TensorDataset> regression_data(std::int64_t n, std::uint64_t seed) {
  Generator generator(seed);
  const Tensor x = randn({n, 3}, {}, generator);
  const Tensor y = sum(x * from_vector<float>({1, -2, 0.5}), {1}, true);
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y});
}

// A small regressor trained with Adam (state for ZeRO to shard), logging its losses weighted by
// batch size; every instance starts from the same weights.
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
    log("train_loss", loss.item<double>(), batch[0].size(0));
    return loss;
  }
  void validation_step(const data::Batch& batch, std::int64_t) override {
    log("val_loss", nn::functional::mse_loss(forward(batch[0]), batch[1]).item<double>(), batch[0].size(0));
  }
  trainer::OptimizerConfig configure_optimizers() override {
    return {.optimizer = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 0.01})};
  }
  std::shared_ptr<nn::Sequential> net;
};

// Two epochs over 24 training samples (3 global batches of 8 each) without shuffling, validating
// on 10 samples after each: the weights, then the last epoch's train_loss and val_loss.
std::vector<double> fit(const std::string& strategy, std::int64_t batch_size) {
  Regressor module;
  data::DataLoader train(regression_data(24, 17), {.batch_size = batch_size});
  data::DataLoader validation(regression_data(10, 18), {.batch_size = 3});
  trainer::Trainer trainer({.max_epochs = 2, .strategy = strategy, .distributed_timeout = std::chrono::seconds(20)});
  trainer.fit(module, train, &validation);
  std::vector<double> outcome = flat_parameters(module);
  outcome.push_back(trainer.metrics().at("train_loss"));
  outcome.push_back(trainer.metrics().at("val_loss"));
  return outcome;
}

}  // namespace

RANK_SCENARIO(trainer_strategies) {
  for (const char* strategy : {"ddp", "zero1", "zero2"}) {
    write_values(directory + "/" + strategy + "." + std::to_string(group->rank()), fit(strategy, 4));
  }
}

TEST_CASE("Trainer strategies ddp, zero1 and zero2 on 2 ranks train and report like one process on the whole batch") {
  // Unshuffled, rank r's k-th batch holds the samples 8k + r, 8k + r + 2, ...: the two ranks'
  // batches together are the single process's k-th batch of 8, and both losses are means over
  // equal halves, so the averaged gradient is the whole batch's.
  const std::vector<double> single = fit("single", 8);
  const auto run = run_ranks("trainer_strategies", 2);
  INFO(run.report());
  REQUIRE(run.succeeded());
  for (const char* strategy : {"ddp", "zero1", "zero2"}) {
    INFO(strategy);
    const auto rank0 = read_values(run.directory + "/" + strategy + ".0");
    // Every rank ends with the same weights and the same reduced metrics.
    CHECK(read_values(run.directory + "/" + strategy + ".1") == rank0);
    // Only the f32 summation order differs from the single process (the mean of two half-batch
    // means, and Adam's update of that gradient): a few ulps, far below 1e-6.
    const std::size_t metrics = rank0.size() - 2;
    const auto weights = [&](const std::vector<double>& outcome) {
      return std::vector<double>(outcome.begin(), outcome.begin() + static_cast<std::ptrdiff_t>(metrics));
    };
    CHECK(relative_difference(weights(rank0), weights(single)) < 1e-6);
    // The metrics are weighted means over all 24 (train) and 10 (validation) samples: each
    // sample once, so they match the single process's, not just each rank's own shard.
    CHECK(rank0[metrics] == doctest::Approx(single[metrics]).epsilon(1e-6));
    CHECK(rank0[metrics + 1] == doctest::Approx(single[metrics + 1]).epsilon(1e-6));
  }
}
