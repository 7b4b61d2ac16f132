// Checkpoints and CSV logs: stop after 2 epochs, resume for 2 more, and get the 4-epoch run
// bit for bit, in weights and in metrics.csv.
#include <signal.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/csv_logger.h"
#include "io/safetensors.h"
#include "trainer/early_stopping.h"
#include "trainer/model_checkpoint.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Dropout draws from the default generator, Adam keeps moments, the scheduler counts epochs,
// the loader shuffles by epoch: every piece of state a resume must bring back.
class Net : public trainer::TrainModule {
 public:
  Net() {
    Generator generator(5);
    net = register_module("net", std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
                                     std::make_shared<nn::Linear>(3, 16), std::make_shared<nn::ReLU>(),
                                     std::make_shared<nn::Dropout>(0.3), std::make_shared<nn::Linear>(16, 1)}));
    for (const Tensor& p : parameters()) nn::init::uniform_(p, -0.5, 0.5, generator);
  }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  std::string type_name() const override { return "Net"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    return nn::functional::mse_loss(forward(batch[0]), batch[1]);
  }
  void validation_step(const data::Batch& batch, std::int64_t) override {
    log("val_loss", nn::functional::mse_loss(forward(batch[0]), batch[1]).item<double>(), batch[0].size(0));
  }
  trainer::OptimizerConfig configure_optimizers() override {
    auto adam = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 0.01});
    auto schedule = std::make_unique<optim::StepLR>(*adam, 1, 0.7);
    return {.optimizer = std::move(adam), .scheduler = std::move(schedule), .interval = trainer::OptimizerConfig::Interval::epoch};
  }
  std::shared_ptr<nn::Sequential> net;
};

std::shared_ptr<data::TensorDataset> dataset() {
  Generator generator(21);
  const Tensor x = randn({48, 3}, {}, generator);
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, sum(x, {1}, true)});
}

std::vector<std::vector<float>> weights(const nn::Module& module) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : module.parameters()) out.push_back(p.to_vector<float>());
  return out;
}

std::filesystem::path scratch() {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_checkpoint_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("train 4 epochs straight == train 2 + checkpoint + resume for 2 (bit for bit)") {
  const data::DataLoaderOptions loading{.batch_size = 8, .shuffle = true, .seed = 9};
  auto stopper_options = trainer::EarlyStoppingOptions{.patience = 100};

  Net straight;
  data::DataLoader straight_train(dataset(), loading), straight_val(dataset(), {.batch_size = 16});
  trainer::Trainer full({.max_epochs = 4, .seed = 1, .callbacks = {std::make_shared<trainer::EarlyStopping>(stopper_options)}});
  full.fit(straight, straight_train, &straight_val);

  const std::string path = (scratch() / "epoch2.safetensors").string();
  {
    Net first;
    data::DataLoader train(dataset(), loading), val(dataset(), {.batch_size = 16});
    trainer::Trainer half({.max_epochs = 2, .seed = 1, .callbacks = {std::make_shared<trainer::EarlyStopping>(stopper_options)}});
    half.fit(first, train, &val);
    half.save_checkpoint(path, first);
    // checkpoint_weights gives back exactly the saved weights, for a model of its own.
    Net reloaded;
    reloaded.load_state_dict(trainer::checkpoint_weights(path));
    CHECK(weights(reloaded) == weights(first));
  }
  Net resumed;  // fresh weights: the checkpoint must replace them
  data::DataLoader train(dataset(), loading), val(dataset(), {.batch_size = 16});
  auto stopper = std::make_shared<trainer::EarlyStopping>(stopper_options);
  trainer::Trainer rest({.max_epochs = 4, .seed = 1, .callbacks = {stopper}});
  rest.fit(resumed, train, &val, path);

  CHECK(weights(resumed) == weights(straight));
  CHECK(rest.global_step() == full.global_step());
  CHECK(rest.metrics().at("val_loss") == full.metrics().at("val_loss"));
  CHECK(rest.optimizer()->param_groups()[0].lr == full.optimizer()->param_groups()[0].lr);  // 0.01 * 0.7^4
  CHECK(stopper->best() <= full.metrics().at("val_loss"));
  std::filesystem::remove_all(scratch());
}

namespace {

// Random augmentation: each example gets noise from its own stream (seed, epoch, index).
class NoisyDataset : public data::Dataset {
 public:
  std::int64_t size() const override { return base_->size(); }
  data::Example get(std::int64_t index, Generator& generator) const override {
    data::Example example = base_->get(index, generator);
    example[0] = example[0] + randn(example[0].sizes(), {}, generator) * 0.1;
    return example;
  }

 private:
  std::shared_ptr<data::TensorDataset> base_ = dataset();
};

// Net with its training loss logged (a metric the epoch gathers across the interruption).
class LoggingNet : public Net {
 public:
  Tensor training_step(const data::Batch& batch, std::int64_t index) override {
    const Tensor loss = Net::training_step(batch, index);
    log("train_loss", loss, batch[0].size(0));
    return loss;
  }
};

struct Interrupted {};

// Saves a checkpoint after optimizer step `step`, then "dies" (throws) as a killed process would.
class SaveThenDie : public trainer::Callback {
 public:
  SaveThenDie(std::int64_t step, std::string path) : step_(step), path_(std::move(path)) {}
  void on_train_batch_end(trainer::Trainer& trainer, trainer::TrainModule& module, std::int64_t, std::int64_t,
                          const Tensor&) override {
    if (trainer.global_step() != step_) return;
    trainer.save_checkpoint(path_, module);
    throw Interrupted{};
  }

 private:
  std::int64_t step_;
  std::string path_;
};

}  // namespace

TEST_CASE("a checkpoint in the middle of an epoch resumes bit for bit: workers, shuffling, augmentation, dropout") {
  // 48 samples in batches of 8: 6 batches an epoch. The interrupted runs save after optimizer step
  // 8 (the 2nd batch of epoch 1), or with accumulation over 2 batches after step 4 (the 2nd
  // window, batches 2 and 3, of epoch 1), and die; fresh objects resume from the file and must
  // end exactly where the uninterrupted run ends, validating twice an epoch on the way.
  const data::DataLoaderOptions loading{.batch_size = 8, .shuffle = true, .num_workers = 2, .seed = 9};
  for (const std::int64_t accumulate : {1, 2}) {
    CAPTURE(accumulate);
    const std::int64_t save_at = accumulate == 1 ? 8 : 4;
    const trainer::TrainerOptions options{.max_epochs = 3, .accumulate_grad_batches = accumulate,
                                          .val_check_interval = 0.5, .seed = 1};
    auto make_loaders = [&] {
      return std::make_pair(std::make_unique<data::DataLoader>(std::make_shared<NoisyDataset>(), loading),
                            std::make_unique<data::DataLoader>(dataset(), data::DataLoaderOptions{.batch_size = 16}));
    };
    LoggingNet straight;
    auto [straight_train, straight_val] = make_loaders();
    trainer::Trainer full(options);
    full.fit(straight, *straight_train, straight_val.get());

    const std::string path = (scratch() / "mid_epoch.safetensors").string();
    {
      LoggingNet doomed;
      auto [train, val] = make_loaders();
      trainer::TrainerOptions dying = options;
      dying.callbacks = {std::make_shared<SaveThenDie>(save_at, path)};
      trainer::Trainer interrupted(dying);
      CHECK_THROWS_AS(interrupted.fit(doomed, *train, val.get()), Interrupted);
    }
    CHECK(io::load_safetensors(path).metadata.at("batch_in_epoch") != "0");
    LoggingNet resumed;
    auto [train, val] = make_loaders();
    trainer::Trainer rest(options);
    rest.fit(resumed, *train, val.get(), path);
    CHECK(weights(resumed) == weights(straight));
    CHECK(rest.global_step() == full.global_step());
    CHECK(rest.metrics().at("val_loss") == full.metrics().at("val_loss"));
    CHECK(rest.metrics().at("train_loss") == doctest::Approx(full.metrics().at("train_loss")).epsilon(1e-12));
  }
  std::filesystem::remove_all(scratch());
}

TEST_CASE("ModelCheckpoint every_n_train_steps writes mid-epoch checkpoints that resume bit for bit") {
  // 6 steps an epoch, a save every 4: steps 4 and 8 inside epochs, 6 and 12 at their ends (12 is
  // both, one file), and last.safetensors.
  const data::DataLoaderOptions loading{.batch_size = 8, .shuffle = true, .num_workers = 2, .seed = 4};
  const std::string dir = (scratch() / "steps").string();
  LoggingNet straight;
  data::DataLoader straight_train(std::make_shared<NoisyDataset>(), loading);
  trainer::Trainer full({.max_epochs = 2, .seed = 3,
                         .callbacks = {std::make_shared<trainer::ModelCheckpoint>(trainer::ModelCheckpointOptions{
                             .dirpath = dir, .save_top_k = -1, .save_last = true, .every_n_train_steps = 4})}});
  full.fit(straight, straight_train);
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.insert(entry.path().filename().string());
  CHECK(files == std::set<std::string>{"epoch=0-step=4.safetensors", "epoch=0-step=6.safetensors",
                                       "epoch=1-step=8.safetensors", "epoch=1-step=12.safetensors",
                                       "last.safetensors"});
  LoggingNet resumed;
  data::DataLoader train(std::make_shared<NoisyDataset>(), loading);
  trainer::Trainer rest({.max_epochs = 2, .seed = 3});
  rest.fit(resumed, train, nullptr, dir + "/epoch=0-step=4.safetensors");
  CHECK(weights(resumed) == weights(straight));
  CHECK(contains(error_of([] { trainer::ModelCheckpoint({.monitor = "val_loss", .every_n_train_steps = 2}); }),
                 "mid-epoch saves (every_n_train_steps, train_time_interval) would write nothing"));
  std::filesystem::remove_all(scratch());
}

namespace {

// A scheduler's notice mid-run: SIGTERM to this process after optimizer step `step`.
class SignalAt : public trainer::Callback {
 public:
  explicit SignalAt(std::int64_t step) : step_(step) {}
  void on_train_batch_end(trainer::Trainer& trainer, trainer::TrainModule&, std::int64_t, std::int64_t,
                          const Tensor&) override {
    if (trainer.global_step() == step_) std::raise(SIGTERM);
  }

 private:
  std::int64_t step_;
};

}  // namespace

TEST_CASE("SIGTERM mid-epoch: fit finishes the step, saves, throws Preempted, and the resume continues exactly") {
  const data::DataLoaderOptions loading{.batch_size = 8, .shuffle = true, .num_workers = 2, .seed = 5};
  const std::string root = (scratch() / "preempted").string();
  LoggingNet straight;
  data::DataLoader straight_train(std::make_shared<NoisyDataset>(), loading);
  trainer::Trainer full({.max_epochs = 2, .seed = 2});
  full.fit(straight, straight_train);

  struct sigaction before = {};
  ::sigaction(SIGTERM, nullptr, &before);
  std::string checkpoint;
  {
    LoggingNet doomed;
    data::DataLoader train(std::make_shared<NoisyDataset>(), loading);
    trainer::Trainer interrupted({.max_epochs = 2, .seed = 2, .default_root_dir = root,
                                  .callbacks = {std::make_shared<SignalAt>(9)}});
    try {
      interrupted.fit(doomed, train);
      FAIL("fit returned after SIGTERM");
    } catch (const trainer::Preempted& preempted) {
      CHECK(preempted.signal() == SIGTERM);
      checkpoint = preempted.checkpoint();
      CHECK(contains(preempted.what(), "preempted by Terminated (signal 15)"));
    }
    CHECK(interrupted.global_step() == 9);  // the step the signal came in finished, no more
  }
  CHECK(checkpoint == root + "/checkpoints/preempted.safetensors");
  LoggingNet resumed;
  data::DataLoader train(std::make_shared<NoisyDataset>(), loading);
  trainer::Trainer rest({.max_epochs = 2, .seed = 2});
  rest.fit(resumed, train, nullptr, checkpoint);
  CHECK(weights(resumed) == weights(straight));
  // Outside fit the handler from before is back (the watch restored it).
  struct sigaction after = {};
  ::sigaction(SIGTERM, nullptr, &after);
  const bool restored = after.sa_handler == before.sa_handler;
  CHECK(restored);
  std::filesystem::remove_all(scratch());
}

TEST_CASE("ModelCheckpoint's kept files and best survive a resume") {
  // Found by tools/soak.sh: a run resumed after its last epoch had forgotten its best checkpoint
  // (fashion_mnist then tried to load a checkpoint named "").
  const std::string dir = (scratch() / "kept").string();
  auto callback = [&] {
    return std::make_shared<trainer::ModelCheckpoint>(
        trainer::ModelCheckpointOptions{.dirpath = dir, .monitor = "val_loss", .save_top_k = 2, .save_last = true});
  };
  Net first;
  data::DataLoader train(dataset(), {.batch_size = 8}), val(dataset(), {.batch_size = 16});
  const auto before = callback();
  trainer::Trainer({.max_epochs = 3, .callbacks = {before}}).fit(first, train, &val);
  REQUIRE(!before->best_model_path().empty());
  Net again;
  const auto after = callback();
  trainer::Trainer({.max_epochs = 3, .callbacks = {after}}).fit(again, train, &val, dir + "/last.safetensors");
  CHECK(after->best_model_path() == before->best_model_path());
  CHECK(after->kept() == before->kept());
  std::filesystem::remove_all(scratch());
}

TEST_CASE("a damaged or foreign checkpoint is a clear error") {
  const std::string path = (scratch() / "ckpt.safetensors").string();
  Net module;
  data::DataLoader train(dataset(), {.batch_size = 8});
  trainer::Trainer trainer({.max_epochs = 1});
  trainer.fit(module, train);
  trainer.save_checkpoint(path, module);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 16);
  CHECK(contains(error_of([&] { trainer::Trainer({.max_epochs = 2}).fit(module, train, nullptr, path); }), "is truncated"));
  io::save_safetensors(path, {{"w", zeros({1})}});
  CHECK(contains(error_of([&] { trainer::Trainer({.max_epochs = 2}).fit(module, train, nullptr, path); }),
                 "has no 'format' entry: not an ember checkpoint"));
  CHECK(contains(error_of([&] { trainer::checkpoint_weights(path); }), "has no 'format' entry"));
  std::filesystem::remove_all(scratch());
}

TEST_CASE("a checkpoint's numbers are read strictly: nonsense is an ember::Error, never another exception") {
  // Found by fuzzing (issue 20): std::stoll's exceptions escaped, "1xyz" read as 1, "-1" as
  // 2^64 - 1 for the seed, and doubles like nan or 1e300 were cast to integers (undefined behaviour).
  const std::string path = (scratch() / "ckpt.safetensors").string();
  Net module;
  data::DataLoader train(dataset(), {.batch_size = 8});
  trainer::Trainer trainer({.max_epochs = 1, .callbacks = {std::make_shared<trainer::EarlyStopping>(
                                                 trainer::EarlyStoppingOptions{.monitor = "val_loss"})}});
  trainer.fit(module, train, &train);
  trainer.save_checkpoint(path, module);
  const io::SafetensorsFile good = io::load_safetensors(path);
  auto resume_with = [&](const std::string& key, const std::string& value) {
    io::SafetensorsFile changed = good;
    REQUIRE(changed.metadata.count(key) == 1);
    changed.metadata[key] = value;
    io::save_safetensors(path, changed.tensors, changed.metadata);
    Net fresh;
    trainer::Trainer resumed({.max_epochs = 2, .callbacks = {std::make_shared<trainer::EarlyStopping>(
                                                  trainer::EarlyStoppingOptions{.monitor = "val_loss"})}});
    return error_of([&] { resumed.fit(fresh, train, &train, path); });
  };
  CHECK(contains(resume_with("epoch", "abc"), "metadata 'epoch': 'abc' is not a number from 0 to 2147483648"));
  CHECK(contains(resume_with("epoch", "1xyz"), "'1xyz' is not a number"));
  CHECK(contains(resume_with("epoch", "-1000000000000"), "'-1000000000000' is not a number"));
  CHECK(contains(resume_with("epoch", "1e99"), "'1e99' is not a number"));
  CHECK(contains(resume_with("global_step", "99999999999999999999"), "metadata 'global_step'"));
  CHECK(contains(resume_with("rng.seed", "-1"), "metadata 'rng.seed': '-1' is not a number"));
  CHECK(contains(resume_with("rng.offset", ""), "metadata 'rng.offset': '' is not a number"));
  CHECK(contains(resume_with("callback.0.wait", "abc"), "EarlyStopping: the checkpoint's wait: 'abc'"));
  CHECK(contains(resume_with("callback.0.best", "nan"), "EarlyStopping: the checkpoint's best: 'nan'"));
  CHECK(contains(resume_with("optimizer.state.0.step", "nan"), "metadata 'optimizer.state.0.step': 'nan' is not a number"));
  CHECK(contains(resume_with("optimizer.state.0.step", "inf"), "Adam.load_state: a parameter's step: expected a whole"));
  CHECK(contains(resume_with("optimizer.state.0.step", "1e300"), "expected a whole number from 1"));
  CHECK(contains(resume_with("optimizer.state.0.step", "2.5"), "got 2.5"));
  std::filesystem::remove_all(scratch());
}

TEST_CASE("optimizer state names and counts from a file are checked") {
  Net module;
  optim::Adam adam(module.parameters());
  optim::OptimizerState state;
  state.scalars = {{"group.0.lr", 1e-3}, {"group.0.weight_decay", 0}, {"state.x.step", 1}};
  CHECK(contains(error_of([&] { adam.load_state(state); }),
                 "Adam::load_state: 'state.x.step' is not a state entry of the form state.<index>.<field>"));
  optim::ReduceLROnPlateau plateau(adam, optim::ReduceLROnPlateau::Mode::min);
  std::map<std::string, double> saved = plateau.state();
  saved["bad_steps"] = std::numeric_limits<double>::infinity();
  CHECK(contains(error_of([&] { plateau.load_state(saved); }), "ReduceLROnPlateau.load_state: bad_steps: expected"));
  optim::GradScaler scaler;
  std::map<std::string, double> scaled = scaler.state();
  scaled["growth_interval"] = 0;
  CHECK(contains(error_of([&] { scaler.load_state(scaled); }), "GradScaler.load_state: growth_interval: expected a whole number from 1"));
}

TEST_CASE("CSVLogger writes one row per epoch + and a resumed run's file equals the straight run's") {
  const data::DataLoaderOptions loading{.batch_size = 8, .shuffle = true, .seed = 9};
  const auto root = scratch();
  auto read = [](const std::string& path) {
    std::ifstream file(path);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };

  Net straight;
  data::DataLoader straight_train(dataset(), loading), straight_val(dataset(), {.batch_size = 16});
  auto straight_log = std::make_shared<trainer::CSVLogger>((root / "straight").string(), std::map<std::string, std::string>{{"lr", "0.01"}});
  trainer::Trainer({.max_epochs = 4, .seed = 1, .callbacks = {straight_log}}).fit(straight, straight_train, &straight_val);
  const std::string expected = read(straight_log->directory() + "/metrics.csv");
  CHECK(std::count(expected.begin(), expected.end(), '\n') == 5);  // header + 4 epochs
  CHECK(expected.rfind("epoch,step,val_loss\n0,6,", 0) == 0);
  CHECK(read(straight_log->directory() + "/hparams.yaml") == "lr: 0.01\n");

  const std::string checkpoint = (root / "half.safetensors").string();
  const std::string resumed_root = (root / "resumed").string();
  {
    Net first;
    data::DataLoader train(dataset(), loading), val(dataset(), {.batch_size = 16});
    auto log = std::make_shared<trainer::CSVLogger>(resumed_root, std::map<std::string, std::string>{{"lr", "0.01"}}, 0);
    trainer::Trainer half({.max_epochs = 3, .seed = 1, .callbacks = {log}});
    half.fit(first, train, &val);  // 3 epochs logged; the checkpoint below is taken at epoch 2
  }
  {
    Net first;
    data::DataLoader train(dataset(), loading), val(dataset(), {.batch_size = 16});
    trainer::Trainer two({.max_epochs = 2, .seed = 1});
    two.fit(first, train, &val);
    two.save_checkpoint(checkpoint, first);
  }
  Net resumed;
  data::DataLoader train(dataset(), loading), val(dataset(), {.batch_size = 16});
  auto log = std::make_shared<trainer::CSVLogger>(resumed_root, std::map<std::string, std::string>{{"lr", "0.01"}}, 0);
  trainer::Trainer({.max_epochs = 4, .seed = 1, .callbacks = {log}}).fit(resumed, train, &val, checkpoint);
  // The stale epoch-2 row of the interrupted run was dropped and rewritten by the resumed one.
  CHECK(read(log->directory() + "/metrics.csv") == expected);
  std::filesystem::remove_all(root);
}
