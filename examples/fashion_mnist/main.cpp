// Fashion-MNIST, trained by the Trainer: a small CNN (or an MLP) with Adam, a 54k/6k
// train/validation split of the training set, early stopping on val_loss, the best and the last
// checkpoint, CSV logs and a progress bar; the test set at the end. Per epoch it prints the
// training speed, the training loss, and the validation and test accuracy.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/run_report.h"
#include "common/training_curve.h"
#include "core/ember.h"
#include "data/data_loader.h"
#include "data/fashion_mnist.h"
#include "data/transforms.h"
#include "nn/models.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "options.h"
#include "trainer/csv_logger.h"
#include "trainer/early_stopping.h"
#include "trainer/learning_rate_monitor.h"
#include "trainer/model_checkpoint.h"
#include "trainer/progress_bar.h"
#include "trainer/tensorboard_logger.h"
#include "trainer/trainer.h"

using namespace ember;

namespace {

class Classifier : public trainer::TrainModule {
 public:
  explicit Classifier(const std::string& kind)
      : net_(register_module("net", kind == "mlp" ? nn::models::fashion_mnist_mlp() : nn::models::fashion_mnist_cnn())) {}
  Tensor forward(const Tensor& images) override { return (*net_)(images); }
  std::string type_name() const override { return "Classifier"; }

  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    const Tensor loss = nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    log("train_loss", loss, batch[0].size(0));
    return loss;
  }
  void validation_step(const data::Batch& batch, std::int64_t) override { evaluate(batch, "val"); }
  void test_step(const data::Batch& batch, std::int64_t) override { evaluate(batch, "test"); }
  // Adam at 1e-3, halved whenever val_loss fails to improve for two epochs in a row.
  trainer::OptimizerConfig configure_optimizers() override {
    auto adam = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 1e-3});
    auto plateau = std::make_unique<optim::ReduceLROnPlateau>(*adam, optim::ReduceLROnPlateau::Mode::min, 0.5, 1);
    return {.optimizer = std::move(adam), .plateau = std::move(plateau), .monitor = "val_loss"};
  }

 private:
  void evaluate(const data::Batch& batch, const std::string& prefix) {
    const Tensor logits = forward(batch[0]);
    const auto n = batch[0].size(0);
    log(prefix + "_loss", nn::functional::cross_entropy(logits, batch[1]), n);
    const Tensor correct = sum(eq(argmax(logits, 1), batch[1]));
    log(prefix + "_acc", correct.to(DType::f64) / static_cast<double>(n), n);
  }
  std::shared_ptr<nn::Sequential> net_;
};

// Prints one summary line per epoch (speed, train loss, validation and, unless the test loader
// is null, test accuracy) and keeps the numbers for the training-curve plot.
class EpochSummary : public trainer::Callback {
 public:
  EpochSummary(data::DataLoader* test, std::int64_t batch_size) : test_(test), batch_size_(batch_size) {}
  void on_train_epoch_start(trainer::Trainer&, trainer::TrainModule&) override {
    start_ = std::chrono::steady_clock::now();
  }
  // The speed counts the epoch's batches up to its last one (limit_train_batches may cut it),
  // on every rank, before validation.
  void on_train_batch_end(trainer::Trainer& trainer, trainer::TrainModule&, std::int64_t index, std::int64_t batches,
                          const Tensor&) override {
    if (index + 1 != batches) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    samples_per_second_ = static_cast<double>(batches * batch_size_ * trainer.strategy().world().world_size) / seconds;
  }
  void on_train_epoch_end(trainer::Trainer& trainer, trainer::TrainModule& module) override {
    const trainer::Metrics& m = trainer.metrics();
    // Every rank tests: it is a collective.
    const double test_acc = test_ != nullptr ? trainer.test(module, *test_).at("test_acc") : std::nan("");
    if (!trainer.is_global_zero()) return;
    std::printf("epoch %lld: %.0f samples/s, train loss %.4f, val loss %.4f, val acc %.4f",
                static_cast<long long>(trainer.current_epoch()), samples_per_second_, m.at("train_loss"),
                m.at("val_loss"), m.at("val_acc"));
    if (test_ != nullptr) std::printf(", test acc %.4f", test_acc);
    std::printf("\n");
    std::fflush(stdout);
    curve.add({m.at("train_loss"), m.at("val_loss"), m.at("val_acc"), test_acc});
  }
  examples::TrainingCurve curve{{{"train loss", "val loss"}, {"val acc", "test acc"}}};

 private:
  data::DataLoader* test_;
  std::int64_t batch_size_;
  std::chrono::steady_clock::time_point start_;
  double samples_per_second_ = 0;
};

int run(const Options& options) {
  set_num_threads(options.threads);
  std::filesystem::create_directories(options.out);
  const data::FashionMnist train_set = data::load_fashion_mnist(options.data, true);
  const data::FashionMnist test_set = data::load_fashion_mnist(options.data, false);

  // 54k/6k split of the training set, fixed by the seed.
  Generator split_generator(options.seed);
  const std::vector<std::int64_t> order = randperm(train_set.images.size(0), split_generator).to_vector<std::int64_t>();
  const data::Transform standardize = data::normalize({0.2860}, {0.3530});
  auto standardized = [&](const data::FashionMnist& set) {
    return std::make_shared<data::TransformDataset>(
        std::make_shared<data::TensorDataset>(std::vector<Tensor>{set.images, set.labels}), standardize);
  };
  const auto all_train = standardized(train_set);
  // Training images are augmented on the loader's workers: a random 28x28 crop of the image
  // padded by 2 (black, before standardizing) and a horizontal flip half of the time.
  const auto raw_train = std::make_shared<data::TensorDataset>(std::vector<Tensor>{train_set.images, train_set.labels});
  const auto augmented = std::make_shared<data::TransformDataset>(
      raw_train, options.augment ? data::compose({data::random_crop(28, 28, 2), data::random_horizontal_flip(), standardize})
                                 : standardize);
  auto train = std::make_shared<data::Subset>(augmented, std::vector<std::int64_t>(order.begin(), order.begin() + 54000));
  auto val = std::make_shared<data::Subset>(all_train, std::vector<std::int64_t>(order.begin() + 54000, order.end()));
  // With a GPU the loaders hand back page-locked batches, which the Trainer copies asynchronously.
  const bool pin = options.device == "cuda";
  data::DataLoader train_loader(train, {.batch_size = options.batch_size, .shuffle = true, .num_workers = options.workers,
                                        .seed = options.seed, .pin_memory = pin});
  data::DataLoader val_loader(val, {.batch_size = 1000, .num_workers = options.workers, .pin_memory = pin});
  data::DataLoader test_loader(standardized(test_set),
                               {.batch_size = 1000, .num_workers = options.workers, .pin_memory = pin});

  manual_seed(options.seed);
  Classifier model(options.model);
  auto summary = std::make_shared<EpochSummary>(options.epoch_test ? &test_loader : nullptr, options.batch_size);
  auto report = std::make_shared<examples::RunReport>("val_loss", false, options.batch_size);
  auto checkpoints = std::make_shared<trainer::ModelCheckpoint>(trainer::ModelCheckpointOptions{
      .filename = "epoch={epoch}-val_loss={val_loss:.4f}",
      .monitor = "val_loss", .save_top_k = 1, .save_last = true, .every_n_train_steps = options.checkpoint_every});
  std::vector<std::shared_ptr<trainer::Callback>> callbacks{std::make_shared<trainer::ProgressBar>()};
  if (options.patience > 0) {
    callbacks.push_back(std::make_shared<trainer::EarlyStopping>(
        trainer::EarlyStoppingOptions{.monitor = "val_loss", .patience = options.patience}));
  }
  callbacks.insert(callbacks.end(),
                   {checkpoints,
                    std::make_shared<trainer::CSVLogger>(
                        options.out, std::map<std::string, std::string>{{"model", options.model},
                                                                        {"lr", "0.001"},
                                                                        {"batch_size", std::to_string(options.batch_size)},
                                                                        {"seed", std::to_string(options.seed)}}),
                    std::make_shared<trainer::TensorBoardLogger>(options.out + "/tensorboard"),
                    std::make_shared<trainer::LearningRateMonitor>(), summary, report});
  trainer::Trainer trainer({.max_epochs = options.max_epochs,
                            .limit_train_batches = options.limit_train_batches,
                            .limit_val_batches = options.limit_val_batches,
                            .seed = options.seed,
                            // Checkpoints (the preemption one too) go to <out>/checkpoints.
                            .default_root_dir = options.out,
                            .callbacks = callbacks,
                            .precision = options.precision,
                            .accelerator = options.device,
                            .strategy = options.strategy,
                            .evaluation_no_grad = options.eval_no_grad});
  const bool prints = trainer.is_global_zero();
  if (prints) std::printf("training %s on %lld images (validating on %lld), batch %lld, %d threads, %d loader workers, %s, "
              "precision %s\n",
              options.model == "mlp" ? "MLP 784-256-128-10" : "CNN (2 conv + 2 linear)",
              static_cast<long long>(train->size()), static_cast<long long>(val->size()),
              static_cast<long long>(options.batch_size), options.threads, options.workers, options.device.c_str(),
              options.precision.c_str());
  if (prints && trainer.strategy().is_distributed()) {
    std::printf("strategy %s: %d processes, each %lld examples per step\n", options.strategy.c_str(),
                trainer.strategy().world().world_size, static_cast<long long>(options.batch_size));
  }
  trainer.fit(model, train_loader, &val_loader, options.resume);

  // Test the weights of the best epoch by val_loss (Lightning's trainer.test(ckpt_path="best")).
  model.load_state_dict(trainer::checkpoint_weights(checkpoints->best_model_path()));
  const double test_acc = trainer.test(model, test_loader).at("test_acc");
  report->write(options.out, {{"test_acc", test_acc}});
  if (!prints) return 0;
  std::printf("%s\n", summary->curve.plot(options.out).c_str());
  std::printf("best checkpoint: %s\ntest accuracy of the best checkpoint: %.4f\n", checkpoints->best_model_path().c_str(),
              test_acc);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  try {
    return run(options);
  } catch (const ember::trainer::Preempted& preempted) {  // SIGTERM / SIGINT: saved, resumable
    std::cerr << "fashion_mnist: " << preempted.what() << " (--resume " << preempted.checkpoint() << ")\n";
    return ember::trainer::kPreemptedExitCode;
  } catch (const std::exception& error) {  // an ember::Error, or the file system's (an unwritable --out)
    std::cerr << "fashion_mnist: " << error.what() << '\n';
    return 2;
  }
}
