// The Trainer: its canonical step order, equality with a hand-written loop, metric aggregation.
#include <unistd.h>

#include <filesystem>
#include <tuple>

#include "core/host_sync.h"
#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/progress_bar.h"
#include "trainer/regressor.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;
using trainer::NonfiniteLoss;
using trainer::OptimizerConfig;
using trainer::Trainer;
using trainer::TrainerOptions;

namespace {

// SGD that records its calls and the gradient norm it sees at each step.
class SpyOptimizer : public optim::SGD {
 public:
  SpyOptimizer(std::vector<Tensor> params, std::vector<std::string>& calls)
      : optim::SGD(params, {.lr = 0.01}), calls_(calls), params_(std::move(params)) {}
  void zero_grad(bool set_to_none) override {
    calls_.push_back(set_to_none ? "zero_grad(none)" : "zero_grad(zeros)");
    optim::SGD::zero_grad(set_to_none);
  }
  void step() override {
    double squares = 0;
    for (const Tensor& p : params_) squares += sum(p.grad() * p.grad()).item<double>();
    norms.push_back(std::sqrt(squares));
    calls_.push_back("step");
    optim::SGD::step();
  }
  std::vector<double> norms;

 private:
  std::vector<std::string>& calls_;
  std::vector<Tensor> params_;
};

// Records training_step and backward (a gradient hook on one parameter) in the same list.
class SpyModule : public Regressor {
 public:
  SpyModule() {
    parameters()[0].register_post_accumulate_grad_hook([this](const Tensor&) { calls.push_back("backward"); });
  }
  Tensor training_step(const data::Batch& batch, std::int64_t index) override {
    calls.push_back("training_step " + std::to_string(index));
    return Regressor::training_step(batch, index);
  }
  OptimizerConfig configure_optimizers() override {
    auto spy = std::make_unique<SpyOptimizer>(parameters(), calls);
    optimizer = spy.get();
    return {.optimizer = std::move(spy)};
  }
  std::vector<std::string> calls;
  SpyOptimizer* optimizer = nullptr;
};

std::vector<std::vector<float>> weights(const nn::Module& module) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : module.parameters()) out.push_back(p.to_vector<float>());
  return out;
}

}  // namespace

TEST_CASE("the Trainer calls zero_grad - training_step - backward - step in the canonical order") {
  SpyModule module;
  data::DataLoader loader(regression_data(10), {.batch_size = 2});  // 5 batches
  Trainer(TrainerOptions{.max_epochs = 1}).fit(module, loader);
  CHECK(module.calls == std::vector<std::string>{"zero_grad(none)", "training_step 0", "backward", "step",
                                                 "zero_grad(none)", "training_step 1", "backward", "step",
                                                 "zero_grad(none)", "training_step 2", "backward", "step",
                                                 "zero_grad(none)", "training_step 3", "backward", "step",
                                                 "zero_grad(none)", "training_step 4", "backward", "step"});
}

TEST_CASE("with accumulation the window zeroes once + steps once + and the last short window still steps") {
  SpyModule module;
  data::DataLoader loader(regression_data(10), {.batch_size = 2});
  Trainer trainer(TrainerOptions{.max_epochs = 1, .accumulate_grad_batches = 2, .gradient_clip_val = 1e-3});
  trainer.fit(module, loader);  // the trainer owns the optimizer the spy points at: keep it alive
  CHECK(module.calls == std::vector<std::string>{"zero_grad(none)", "training_step 0", "backward", "training_step 1",
                                                 "backward", "step", "zero_grad(none)", "training_step 2", "backward",
                                                 "training_step 3", "backward", "step", "zero_grad(none)",
                                                 "training_step 4", "backward", "step"});
  // Clipping ran before each step: the optimizer saw norms of at most 1e-3.
  for (double norm : module.optimizer->norms) CHECK(norm <= 1e-3 + 1e-9);
}

TEST_CASE("Trainer and the hand-written canonical loop give bit-identical weights + the misordered loop does not") {
  const auto dataset = regression_data(40);
  const data::DataLoaderOptions loading{.batch_size = 8, .shuffle = true, .seed = 3};

  Regressor trained;
  data::DataLoader trainer_loader(dataset, loading);
  Trainer(TrainerOptions{.max_epochs = 3}).fit(trained, trainer_loader);

  // The same order by hand: zero, forward + loss, backward, step.
  auto hand_loop = [&](bool zero_before_step) {
    Regressor model;
    auto config = model.configure_optimizers();
    data::DataLoader loader(dataset, loading);
    for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
      loader.set_epoch(epoch);
      for (const data::Batch& batch : loader) {
        config.optimizer->zero_grad();
        const Tensor loss = nn::functional::mse_loss(model(batch[0]), batch[1]);
        div(loss, 1.0).backward();
        // The silent bug the canonical order prevents: gradients cleared before they are used.
        if (zero_before_step) config.optimizer->zero_grad();
        config.optimizer->step();
      }
    }
    return weights(model);
  };
  CHECK(weights(trained) == hand_loop(false));
  CHECK(weights(trained) != hand_loop(true));
  CHECK(weights(trained) != weights(Regressor()));  // and training did move the weights
}

namespace {

// Logs, per validation batch, the batch's mean target and whether it ran in eval mode without grad.
class Probe : public Regressor {
 public:
  void validation_step(const data::Batch& batch, std::int64_t) override {
    log("mean_target", mean(batch[1]).item<double>(), batch[1].size(0));
    log("eval_no_grad", !is_training() && !GradMode::is_enabled() ? 1.0 : 0.0);
  }
};

}  // namespace

TEST_CASE("validation runs in eval mode without grad and metrics are weighted by batch size") {
  Probe module;
  const Tensor targets = arange(0, 10, 1, {.dtype = DType::f32}).unsqueeze(1);
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({10, 3}), targets});
  data::DataLoader loader(dataset, {.batch_size = 4});  // batches of 4, 4 and 2
  const trainer::Metrics metrics = Trainer().validate(module, loader);
  // Batch means 1.5, 5.5, 8.5 weighted 4, 4, 2 give the mean of 0..9, 4.5 (not their plain mean 5.17).
  CHECK(metrics.at("mean_target") == doctest::Approx(4.5));
  CHECK(metrics.at("eval_no_grad") == 1.0);
  CHECK(module.is_training());  // restored afterwards
}

TEST_CASE("evaluation_no_grad off records the graph in validation (what no_grad saves is measured against it)") {
  Probe module;
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({4, 3}), zeros({4, 1})});
  data::DataLoader loader(dataset, {.batch_size = 2});
  CHECK(Trainer({.evaluation_no_grad = false}).validate(module, loader).at("eval_no_grad") == 0.0);
  CHECK(GradMode::is_enabled());
}

namespace {

// Logs, per validation batch, how many targets are positive as a ratio of the batch's targets,
// and derives "double_share" from it at the epoch's end.
class RatioProbe : public Regressor {
 public:
  void validation_step(const data::Batch& batch, std::int64_t) override {
    const double positive = static_cast<double>(sum(gt(batch[1], 0.0)).item<std::int64_t>());
    log_ratio("positive_share", positive, static_cast<double>(batch[1].numel()));
    log_ratio("never", 0, 0);
  }
  void derive_epoch_metrics(trainer::Metrics& metrics) const override {
    if (metrics.count("positive_share")) metrics["double_share"] = 2 * metrics.at("positive_share");
  }
};

}  // namespace

TEST_CASE("log_ratio sums numerators and denominators over the epoch and derive_epoch_metrics adds to them") {
  RatioProbe module;
  // Targets -6..3 in batches -6 -5 -4 -3 | -2 -1 0 1 | 2 3 have 0/4, 1/4 and 2/2 positive: the
  // epoch's share is 3/10, where the mean of the batch ratios would be (0 + 0.25 + 1) / 3.
  const Tensor targets = arange(-6, 4, 1, {.dtype = DType::f32}).unsqueeze(1);
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({10, 3}), targets});
  data::DataLoader loader(dataset, {.batch_size = 4});
  const trainer::Metrics metrics = Trainer().validate(module, loader);
  CHECK(metrics.at("positive_share") == doctest::Approx(0.3));
  CHECK(metrics.at("double_share") == doctest::Approx(0.6));
  CHECK(std::isnan(metrics.at("never")));  // 0 / 0
  CHECK(contains(error_of([&] { module.log_ratio("bad", 1, -1); }), "needs a denominator >= 0"));
}

TEST_CASE("fit reports train and validation metrics and honours max_steps") {
  Probe module;
  data::DataLoader train(regression_data(20), {.batch_size = 5});
  data::DataLoader validation(regression_data(20), {.batch_size = 5});
  Trainer trainer(TrainerOptions{.max_epochs = 10, .max_steps = 6});
  trainer.fit(module, train, &validation);
  CHECK(trainer.global_step() == 6);
  CHECK(trainer.current_epoch() == 2);  // 4 steps per epoch: the second epoch stops after 2
  CHECK(trainer.metrics().count("train_loss") == 1);
  CHECK(trainer.metrics().count("mean_target") == 1);
}

namespace {

// A Regressor whose loss overflows to inf on one chosen batch, with a per-batch StepLR.
// (The tests give it a small initial scale: at 2^16 this model's f16 gradients overflow by
// themselves for the first steps, which would hide the injected overflow.)
class Overflowing : public Regressor {
 public:
  explicit Overflowing(std::int64_t overflow_at) : overflow_at_(overflow_at) {}
  Tensor training_step(const data::Batch& batch, std::int64_t index) override {
    const Tensor loss = Regressor::training_step(batch, index);
    return index == overflow_at_ ? mul(loss, INFINITY) : loss;
  }
  OptimizerConfig configure_optimizers() override {
    OptimizerConfig config = Regressor::configure_optimizers();
    config.scheduler = std::make_unique<optim::StepLR>(*config.optimizer, 1, 0.5);
    config.interval = OptimizerConfig::Interval::step;
    return config;
  }

 private:
  std::int64_t overflow_at_;
};

// The canonical loop by hand for a mixed precision: autocast around the step, and with f16 the
// GradScaler's scale, unscale_, step, update.
std::vector<std::vector<float>> mixed_hand_loop(const std::shared_ptr<data::TensorDataset>& dataset, DType dtype,
                                                 bool scaled) {
  Regressor model;
  auto config = model.configure_optimizers();
  optim::GradScaler scaler({.enabled = scaled});
  data::DataLoader loader(dataset, {.batch_size = 8});
  for (std::int64_t epoch = 0; epoch < 2; ++epoch) {
    loader.set_epoch(epoch);
    for (const data::Batch& batch : loader) {
      config.optimizer->zero_grad();
      Tensor loss;
      {
        AutocastGuard autocast(dtype);
        loss = nn::functional::mse_loss(model(batch[0]), batch[1]);
      }
      scaler.scale(loss).backward();
      scaler.unscale_(*config.optimizer);
      scaler.step(*config.optimizer);
      scaler.update();
    }
  }
  return weights(model);
}

}  // namespace

TEST_CASE("Trainer with 16-mixed and bf16-mixed equals the hand-written autocast loop bit for bit") {
  const auto dataset = regression_data(32);
  auto train = [&](const std::string& precision) {
    Regressor module;
    data::DataLoader loader(dataset, {.batch_size = 8});
    Trainer(TrainerOptions{.max_epochs = 2, .precision = precision}).fit(module, loader);
    return weights(module);
  };
  const auto f16 = train("16-mixed"), bf16 = train("bf16-mixed"), f32 = train("32");
  CHECK(f16 == mixed_hand_loop(dataset, DType::f16, true));
  CHECK(bf16 == mixed_hand_loop(dataset, DType::bf16, false));
  // The precision really changed the arithmetic: three different results.
  CHECK(f16 != f32);
  CHECK(bf16 != f32);
  CHECK(f16 != bf16);
}

TEST_CASE("16-mixed skips the step of an overflowing batch + halves the scale + and the scheduler waits") {
  const auto dataset = regression_data(32);  // 4 batches of 8
  auto run = [&](std::int64_t overflow_at, std::int64_t batches) {
    Overflowing module(overflow_at);
    data::DataLoader loader(dataset, {.batch_size = 8});
    Trainer trainer(TrainerOptions{.max_epochs = 1, .limit_train_batches = batches,
                                   .precision = "16-mixed", .grad_scaler = {.init_scale = 256}});
    trainer.fit(module, loader);
    return std::make_tuple(weights(module), trainer.grad_scaler().get_scale(), trainer.global_step());
  };
  // Overflow on the last of 3 batches: that step is skipped, so the weights are those after 2.
  const auto [skipped, scale, steps] = run(2, 3);
  const auto [two_batches, clean_scale, clean_steps] = run(-1, 2);
  CHECK(skipped == two_batches);
  CHECK(scale == 128.0);
  CHECK(clean_scale == 256.0);
  CHECK(steps == 3);  // a skipped step still counts as a global step, as in Lightning
}

TEST_CASE("a non-finite loss stops fit naming step, batch and value; skip learns nothing from the batch") {
  const auto dataset = regression_data(32);  // 4 batches of 8
  auto run = [&](std::int64_t overflow_at, std::int64_t batches, NonfiniteLoss action) {
    Overflowing module(overflow_at);
    data::DataLoader loader(dataset, {.batch_size = 8});
    Trainer trainer(TrainerOptions{.max_epochs = 1, .limit_train_batches = batches, .nonfinite_loss = action});
    trainer.fit(module, loader);
    return std::make_tuple(weights(module), trainer.global_step());
  };
  // The default: the loss of batch 2 is inf, and fit stops there.
  CHECK(contains(error_of([&] { run(2, 4, NonfiniteLoss::error); }),
                 "Trainer: the training loss is inf at step 2 (epoch 0, batch 2)"));
  // skip: the last of 3 batches learns nothing (no step either), so the weights are those after 2.
  const auto [skipped, skipped_steps] = run(2, 3, NonfiniteLoss::skip);
  const auto [two_batches, two_steps] = run(-1, 2, NonfiniteLoss::skip);
  CHECK(skipped == two_batches);
  CHECK(skipped_steps == 2);
  // ignore: the inf reaches the weights, as in PyTorch without anomaly detection.
  const auto [ignored, ignored_steps] = run(2, 3, NonfiniteLoss::ignore);
  bool finite = true;
  for (const auto& tensor : ignored) {
    for (const float value : tensor) finite = finite && std::isfinite(value);
  }
  CHECK_FALSE(finite);
}

TEST_CASE("the scheduler does not step after a skipped optimizer step") {
  Overflowing module(1);
  data::DataLoader loader(regression_data(32), {.batch_size = 8});
  Trainer trainer(TrainerOptions{.max_epochs = 1,
                                   .precision = "16-mixed", .grad_scaler = {.init_scale = 256}});
  trainer.fit(module, loader);
  // 4 batches, 1 skipped: StepLR(step 1, gamma 0.5) stepped 3 times, lr 0.05 * 0.5^3.
  CHECK(trainer.optimizer()->param_groups()[0].lr == doctest::Approx(0.05 * 0.125));
}

TEST_CASE("the GradScaler's state survives a checkpoint and an unknown precision is an error") {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_scaler_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "epoch1.safetensors").string();
  data::DataLoader loader(regression_data(32), {.batch_size = 8});
  Overflowing first(1);  // one overflow: the scale is 128 after the first epoch
  Trainer one(TrainerOptions{.max_epochs = 1,
                                   .precision = "16-mixed", .grad_scaler = {.init_scale = 256}});
  one.fit(first, loader);
  one.save_checkpoint(path, first);
  REQUIRE(one.grad_scaler().get_scale() == 128.0);

  Overflowing resumed(-1);
  Trainer two(TrainerOptions{.max_epochs = 2,
                                   .precision = "16-mixed", .grad_scaler = {.init_scale = 256}});
  two.fit(resumed, loader, nullptr, path);
  // A fresh scaler would be back at 256 after a clean epoch.
  CHECK(two.grad_scaler().get_scale() == 128.0);
  // Clean steps in a row: 2 at the end of epoch one (after the overflow at batch 1), 4 more now.
  CHECK(two.grad_scaler().state().at("_growth_tracker") == 6.0);
  std::filesystem::remove_all(dir);

  CHECK(contains(error_of([] { Trainer(TrainerOptions{.precision = "16"}); }),
                 "Trainer: precision '16' is not supported"));
}

namespace {

// 3 classes from the sign pattern of 3 inputs, learned by Linear -> LayerNorm -> ReLU -> Linear
// with cross_entropy and Adam: the pieces of the image models' steps.
std::shared_ptr<data::TensorDataset> classification_data(std::int64_t n) {
  Generator generator(23);
  const Tensor x = randn({n, 3}, {}, generator);
  const Tensor y = to(gt(x.select(1, 0), 0.0), DType::i64) + to(gt(x.select(1, 1), 0.0), DType::i64);
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, y});
}

class Classifier : public trainer::TrainModule {
 public:
  Classifier()
      : net_(register_module("net", std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
                                        std::make_shared<nn::Linear>(3, 8), std::make_shared<nn::LayerNorm>(Shape{8}),
                                        std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 3)}))) {}
  Tensor forward(const Tensor& x) override { return (*net_)(x); }
  std::string type_name() const override { return "Classifier"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    const Tensor loss = nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    log("train_loss", loss, batch[0].size(0));
    return loss;
  }
  OptimizerConfig configure_optimizers() override {
    return {.optimizer = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 1e-2})};
  }

 private:
  std::shared_ptr<nn::Sequential> net_;
};

}  // namespace

TEST_CASE("a training step reads nothing back to the host: logging, clipping and the progress bar wait per epoch") {
  // Counted reads (core/host_sync.h) are waits for the GPU on a GPU. With log(name, Tensor),
  // clip_grad_norm_ on the device and the progress bar reading the loss only when it draws (at
  // each quarter of the epoch off a terminal), the reads of a run do not grow with its steps.
  // 16-mixed adds exactly one per optimizer step: the GradScaler reads its inf/NaN flag to decide
  // whether to step (PyTorch's scheme).
  std::FILE* sink = std::fopen("/dev/null", "w");
  auto reads_of_a_run = [&](std::int64_t samples, const std::string& precision) {
    Classifier module;
    data::DataLoader loader(classification_data(samples), {.batch_size = 4});
    Trainer trainer(TrainerOptions{.max_epochs = 1, .gradient_clip_val = 0.5,
                                   .callbacks = {std::make_shared<trainer::ProgressBar>(sink)}, .precision = precision});
    const std::int64_t before = host_sync_count();
    trainer.fit(module, loader);
    return host_sync_count() - before;
  };
  const std::int64_t short_run = reads_of_a_run(16, "32"), long_run = reads_of_a_run(64, "32");
  CHECK(short_run == long_run);  // 4 and 16 steps: the same reads
  CHECK(short_run <= 8);          // the epoch's metric and the bar's four quarters
  CHECK(reads_of_a_run(64, "16-mixed") - reads_of_a_run(16, "16-mixed") == 12);  // one per extra step
  std::fclose(sink);
}
