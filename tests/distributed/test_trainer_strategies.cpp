// The Trainer's distributed strategies: 2 ranks of "ddp", "zero1" and "zero2", each with a batch
// of 4, end with the weights of one "single" process with a batch of 8, and report the same
// epoch metrics (reduced across ranks), training and validation.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <utility>

#include "file_size_limit.h"
#include "io/atomic_file.h"
#include "nn/nn.h"
#include "optim/adam.h"
#include "ranks.h"
#include "tiny_problem.h"
#include "trainer/regressor.h"
#include "trainer/model_checkpoint.h"
#include "trainer/preemption.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;

namespace {

// The Trainer tests' regressor with Adam (state for ZeRO to shard) and a validation loss.
class AdamRegressor : public Regressor {
 public:
  void validation_step(const data::Batch& batch, std::int64_t) override {
    log("val_loss", nn::functional::mse_loss(forward(batch[0]), batch[1]).item<double>(), batch[0].size(0));
  }
  trainer::OptimizerConfig configure_optimizers() override {
    return {.optimizer = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 0.01})};
  }
};

// Two epochs over 24 training samples (3 global batches of 8 each) without shuffling, validating
// on 10 samples after each: the weights, then the last epoch's train_loss and val_loss.
std::vector<double> fit(const std::string& strategy, std::int64_t batch_size) {
  AdamRegressor module;
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

namespace {

// Lengths for the bucketing samplers below: distinct, scrambled.
std::vector<std::int64_t> lengths(std::int64_t n) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(i * 7 % n);
  return out;
}

std::shared_ptr<data::BucketBatchSampler> bucketing(std::int64_t n, bool shuffle) {
  return std::make_shared<data::BucketBatchSampler>(
      lengths(n), data::BucketBatchSamplerOptions{.batch_size = 3, .shuffle = shuffle, .seed = 4, .pool_batches = 2});
}

// The indices of epoch 0's batches, batch after batch, each batch ended by -1.
std::vector<double> batch_indices(const data::DataLoader& loader, std::int64_t dataset_size) {
  std::vector<double> out;
  for (const auto& batch : loader.options().batch_sampler->batches(dataset_size, 0)) {
    for (std::int64_t i : batch) out.push_back(static_cast<double>(i));
    out.push_back(-1);
  }
  return out;
}

}  // namespace

RANK_SCENARIO(trainer_shards_batch_sampler) {
  AdamRegressor module;
  data::DataLoader train(regression_data(24, 17), {.batch_sampler = bucketing(24, true)});
  data::DataLoader validation(regression_data(10, 18), {.batch_sampler = bucketing(10, false)});
  trainer::Trainer trainer({.max_epochs = 1, .strategy = "ddp", .distributed_timeout = std::chrono::seconds(20)});
  trainer.fit(module, train, &validation);
  require(train.size() == 4 && validation.size() == 2, "each rank gets 4 of 8 training and 2 of 4 validation batches");
  std::vector<double> values = batch_indices(train, 24);
  const std::vector<double> evaluation = batch_indices(validation, 10);
  values.push_back(-2);
  values.insert(values.end(), evaluation.begin(), evaluation.end());
  write_values(directory + "/batches." + std::to_string(group->rank()), values);
}

TEST_CASE("under ddp a loader with a batch sampler gives each rank every other batch of it") {
  const auto run = run_ranks("trainer_shards_batch_sampler", 2);
  INFO(run.report());
  REQUIRE(run.succeeded());
  // What the unsharded samplers make: 8 training batches (shuffled, bucketed), 4 validation ones.
  std::vector<std::vector<double>> expected(2);
  for (const auto& [sampler, size] : {std::pair{bucketing(24, true), 24}, std::pair{bucketing(10, false), 10}}) {
    const data::IndexBatches batches = sampler->batches(size, 0);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      for (std::int64_t i : batches[b]) expected[b % 2].push_back(static_cast<double>(i));
      expected[b % 2].push_back(-1);
    }
    if (size == 24) {
      expected[0].push_back(-2);
      expected[1].push_back(-2);
    }
  }
  CHECK(read_values(run.directory + "/batches.0") == expected[0]);
  CHECK(read_values(run.directory + "/batches.1") == expected[1]);
}

RANK_SCENARIO(trainer_validates_with_an_empty_rank) {
  // One validation batch of 3: under ddp rank 0 gets it, rank 1 none, so rank 1 logs nothing.
  AdamRegressor module;
  data::DataLoader train(regression_data(8, 17), {.batch_size = 2});
  const auto validation_set = regression_data(3, 18);
  data::DataLoader validation(validation_set, {.batch_sampler = bucketing(3, false)});
  trainer::Trainer trainer({.max_epochs = 1, .strategy = "ddp", .distributed_timeout = std::chrono::seconds(20)});
  trainer.fit(module, train, &validation);
  require(validation.size() == (group->rank() == 0 ? 1 : 0), "rank 0 holds the one validation batch");
  // The reduced val_loss is the loss over all 3 samples, computed here without the Trainer.
  NoGradGuard no_grad;
  module.eval();
  Generator unused;
  std::vector<Tensor> inputs, targets;
  for (std::int64_t i = 0; i < 3; ++i) {
    const data::Example example = validation_set->get(i, unused);
    inputs.push_back(example[0]);
    targets.push_back(example[1]);
  }
  const double direct = nn::functional::mse_loss(module(stack(inputs, 0)), stack(targets, 0)).item<double>();
  write_values(directory + "/val." + std::to_string(group->rank()),
               {trainer.validation_metrics().at("val_loss"), direct});
}

TEST_CASE("under ddp a rank with no validation batch adds nothing, and the metrics still reduce") {
  const auto run = run_ranks("trainer_validates_with_an_empty_rank", 2);
  INFO(run.report());
  REQUIRE(run.succeeded());
  for (const char* rank : {"0", "1"}) {
    const std::vector<double> values = read_values(run.directory + "/val." + rank);
    CHECK(values[0] == doctest::Approx(values[1]).epsilon(1e-6));
  }
}

namespace {

// SIGTERM to this rank alone after optimizer step `step` (a signal reaches ranks at different
// moments; here only one rank gets it at all).
class SignalAt : public trainer::Callback {
 public:
  SignalAt(std::int64_t step, bool signalled_rank) : step_(step), signalled_rank_(signalled_rank) {}
  void on_train_batch_end(trainer::Trainer& trainer, trainer::TrainModule&, std::int64_t, std::int64_t,
                          const Tensor&) override {
    if (signalled_rank_ && trainer.global_step() == step_) std::raise(SIGTERM);
  }

 private:
  std::int64_t step_;
  bool signalled_rank_;
};

// Three epochs of ddp over 24 shuffled samples (3 steps an epoch), from `resume_from` if given;
// SIGTERM to rank 1 after step `signal_at` (0: none). The weights, then the global step.
std::vector<double> preemptible_fit(const std::shared_ptr<distributed::ProcessGroup>& group, const std::string& root,
                                    std::int64_t signal_at, const std::string& resume_from) {
  AdamRegressor module;
  data::DataLoader train(regression_data(24, 17), {.batch_size = 4, .shuffle = true, .num_workers = 1, .seed = 3});
  trainer::TrainerOptions options{.max_epochs = 3, .seed = 8, .default_root_dir = root, .strategy = "ddp",
                                  .distributed_timeout = std::chrono::seconds(20)};
  if (signal_at > 0) options.callbacks = {std::make_shared<SignalAt>(signal_at, group->rank() == 1)};
  trainer::Trainer trainer(options);
  std::vector<double> outcome;
  try {
    trainer.fit(module, train, nullptr, resume_from);
  } catch (const trainer::Preempted& preempted) {
    require(preempted.checkpoint() == root + "/checkpoints/preempted.safetensors", preempted.what());
  }
  outcome = flat_parameters(module);
  outcome.push_back(static_cast<double>(trainer.global_step()));
  return outcome;
}

}  // namespace

RANK_SCENARIO(trainer_preempted_under_ddp) {
  const std::string rank = std::to_string(group->rank());
  write_values(directory + "/straight." + rank, preemptible_fit(group, directory + "/a", 0, ""));
  write_values(directory + "/preempted." + rank, preemptible_fit(group, directory + "/b", 4, ""));
  write_values(directory + "/resumed." + rank,
               preemptible_fit(group, directory + "/c", 0, directory + "/b/checkpoints/preempted.safetensors"));
}

TEST_CASE("under ddp a SIGTERM to one rank stops both at the same step, mid-epoch, and the resume is exact") {
  static_assert(trainer::kPreemptionAgreementSteps == 8, "the step below is the first multiple of it after 4");
  const auto run = run_ranks("trainer_preempted_under_ddp", 2);
  INFO(run.report());
  REQUIRE(run.succeeded());
  for (const std::string rank : {"0", "1"}) {
    const auto preempted = read_values(run.directory + "/preempted." + rank);
    // Signalled after step 4; the ranks agree every 8 steps, so both stop after step 8, the 2nd of
    // epoch 2.
    CHECK(preempted.back() == 8);
    CHECK(read_values(run.directory + "/resumed." + rank) == read_values(run.directory + "/straight." + rank));
  }
}

namespace {

using OnSaveError = trainer::ModelCheckpointOptions::OnSaveError;

// Two epochs of ddp over 24 samples (3 steps an epoch) with last.safetensors saved every 2 steps
// into `root`, on a disk that gets room again after step `room_after` (`full` is null on a rank
// whose disk is not full). The global step fit ended at, then a WriteError's message ("" if none).
std::pair<std::int64_t, std::string> fit_on_full_disk(FileSizeLimit* full, const std::string& root, OnSaveError mode,
                                                      std::int64_t room_after, AdamRegressor& module) {
  data::DataLoader train(regression_data(24, 17), {.batch_size = 4});
  trainer::Trainer trainer(
      {.max_epochs = 2,
       .callbacks = {std::make_shared<RoomAfter>(full, room_after),
                     std::make_shared<trainer::ModelCheckpoint>(trainer::ModelCheckpointOptions{
                         .dirpath = root, .save_top_k = 0, .save_last = true, .every_n_train_steps = 2,
                         .on_save_error = mode})},
       .strategy = "ddp",
       .distributed_timeout = std::chrono::seconds(20)});
  std::string message;
  try {
    trainer.fit(module, train);
  } catch (const io::WriteError& error) {
    message = error.what();
  }
  return {trainer.global_step(), message};
}

}  // namespace

// Only rank 0 writes checkpoints, and only its disk is full (a file-size limit in its process).
RANK_SCENARIO(trainer_disk_full_under_ddp) {
  std::optional<FileSizeLimit> full;
  if (group->rank() == 0) full.emplace(kFullDiskBytes);
  FileSizeLimit* limit = full ? &*full : nullptr;
  const auto start = std::chrono::steady_clock::now();
  AdamRegressor stopped;
  const auto [stop_step, stop_message] = fit_on_full_disk(limit, directory + "/stop", OnSaveError::stop, 0, stopped);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string expected = group->rank() == 0 ? "File too large" : "save_checkpoint: rank 0 could not write";
  require(stop_message.find(expected) != std::string::npos, "rank " + std::to_string(group->rank()) +
                                                                  " stopped with '" + stop_message + "'");
  AdamRegressor retried;
  const auto [retry_step, retry_message] = fit_on_full_disk(limit, directory + "/retry", OnSaveError::retry, 4, retried);
  require(retry_message.empty(), "the retrying fit failed: " + retry_message);
  AdamRegressor reloaded;
  reloaded.load_state_dict(trainer::checkpoint_weights(directory + "/retry/last.safetensors"));
  const bool saved_at_the_end = flat_parameters(reloaded) == flat_parameters(retried);
  write_values(directory + "/disk_full." + std::to_string(group->rank()),
               {static_cast<double>(stop_step), seconds, static_cast<double>(retry_step), saved_at_the_end ? 1.0 : 0.0});
}

TEST_CASE("under ddp a full disk on rank 0 fails the save on both ranks at once, or is retried on both") {
  const auto run = run_ranks("trainer_disk_full_under_ddp", 2);
  INFO(run.report());
  REQUIRE(run.succeeded());
  for (const std::string rank : {"0", "1"}) {
    const auto values = read_values(run.directory + "/disk_full." + rank);
    REQUIRE(values.size() == 4);
    CHECK(values[0] == 2);   // the first save, after step 2, stopped both ranks
    CHECK(values[1] < 10);   // at once, not at the 20 s collective timeout
    CHECK(values[2] == 6);   // under retry both trained to the end
    CHECK(values[3] == 1);   // and last.safetensors holds the final weights
  }
}
