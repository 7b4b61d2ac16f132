// Callbacks (EarlyStopping, ModelCheckpoint, ProgressBar) driven by scripted validation losses.
#include <cstdio>
#include <filesystem>
#include <limits>

#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/early_stopping.h"
#include "trainer/model_checkpoint.h"
#include "trainer/progress_bar.h"
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
    return {.optimizer = std::make_unique<optim::SGD>(parameters(), optim::SGDOptions{.lr = 0.0})};
  }
  std::shared_ptr<nn::Linear> layer;

 private:
  std::vector<double> script_;
  std::size_t epoch_ = 0;
};

// Fits len(script) epochs (fewer if a callback stops it) with `callbacks`; returns the epochs run.
std::int64_t fit_scripted(std::vector<double> script, std::vector<std::shared_ptr<trainer::Callback>> callbacks) {
  const auto epochs = static_cast<std::int64_t>(script.size());
  Scripted module(std::move(script));
  auto data = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({8, 1})});
  data::DataLoader train(data, {.batch_size = 2}), validation(data, {.batch_size = 8});  // 4 batches, 1
  trainer::Trainer trainer({.max_epochs = epochs, .callbacks = std::move(callbacks)});
  trainer.fit(module, train, &validation);
  return trainer.current_epoch();
}

// Runs up to len(script) epochs and returns how many ran and the callback.
std::pair<std::int64_t, std::shared_ptr<EarlyStopping>> run(std::vector<double> script, EarlyStoppingOptions options) {
  auto stopper = std::make_shared<EarlyStopping>(options);
  return {fit_scripted(std::move(script), {stopper}), stopper};
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

TEST_CASE("ModelCheckpoint keeps the top-k by the monitored metric + and last") {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_ckpt_" + std::to_string(::getpid()));
  auto checkpoint = std::make_shared<trainer::ModelCheckpoint>(trainer::ModelCheckpointOptions{
      .dirpath = dir.string(), .filename = "e{epoch}-{val_loss:.2f}", .monitor = "val_loss", .save_top_k = 2,
      .save_last = true});
  fit_scripted({0.5, 0.3, 0.9, 0.1, 0.4}, {checkpoint});
  // The two lowest losses were epochs 3 (0.1) and 1 (0.3); the others were deleted again.
  REQUIRE(checkpoint->kept().size() == 2);
  CHECK(checkpoint->best_model_path() == (dir / "e3-0.10.safetensors").string());
  CHECK(checkpoint->kept()[1].second == (dir / "e1-0.30.safetensors").string());
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"e1-0.30.safetensors", "e3-0.10.safetensors", "last.safetensors"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("ProgressBar prints plain quarter-epoch lines when the output is not a terminal") {
  std::FILE* out = std::tmpfile();
  fit_scripted({0.5, 0.25}, {std::make_shared<trainer::ProgressBar>(out)});
  std::rewind(out);
  std::string text;
  for (int c = std::fgetc(out); c != EOF; c = std::fgetc(out)) text += static_cast<char>(c);
  std::fclose(out);
  // 4 batches per epoch: a line per batch (a quarter each), then the epoch's metrics.
  CHECK(contains(text, "Epoch 0: 4/4 batches"));
  CHECK(contains(text, "Epoch 1 done: val_loss=0.2500"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 10);
}

TEST_CASE("ModelCheckpoint without a dirpath writes under the Trainer's default_root_dir") {
  const auto root = std::filesystem::temp_directory_path() / ("ember_root_" + std::to_string(::getpid()));
  Scripted module({0.5});
  auto data = std::make_shared<data::TensorDataset>(std::vector<Tensor>{zeros({8, 1})});
  data::DataLoader train(data, {.batch_size = 2}), validation(data, {.batch_size = 8});
  auto checkpoint = std::make_shared<trainer::ModelCheckpoint>(trainer::ModelCheckpointOptions{.save_last = true});
  trainer::Trainer trainer({.default_root_dir = root.string(), .callbacks = {checkpoint}});
  trainer.fit(module, train, &validation);
  CHECK(std::filesystem::exists(root / "checkpoints" / "last.safetensors"));
  CHECK(checkpoint->best_model_path() == (root / "checkpoints" / "epoch=0-step=4.safetensors").string());
  std::filesystem::remove_all(root);
}
