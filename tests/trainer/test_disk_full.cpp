// A disk that fills up during fit: ModelCheckpoint's save fails with the path and the system's
// reason, the checkpoints already written stay whole, and fit either stops with the error or, by
// option, trains on and retries the save until the disk has room again; the loggers train on.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "distributed/temporary_directory.h"
#include "file_size_limit.h"
#include "helpers.h"
#include "io/atomic_file.h"
#include "trainer/csv_logger.h"
#include "trainer/model_checkpoint.h"
#include "trainer/tensorboard_logger.h"
#include "trainer/trainer.h"
#include "trainer/regressor.h"

using namespace ember;
using namespace ember::testing;

namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> files_in(const std::string& directory) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) names.insert(entry.path().filename().string());
  return names;
}

// 48 examples in batches of 8: 6 optimizer steps an epoch.
const data::DataLoaderOptions kLoading{.batch_size = 8};

}  // namespace

TEST_CASE("a full disk stops fit with an error naming the file and the reason; the last checkpoint stays whole") {
  const distributed::TemporaryDirectory dir("ember-disk-full");
  const std::string last = dir.path() + "/last.safetensors";
  auto checkpoints = [&] {
    return std::make_shared<trainer::ModelCheckpoint>(
        trainer::ModelCheckpointOptions{.dirpath = dir.path(), .save_top_k = 0, .save_last = true, .every_n_train_steps = 2});
  };
  Regressor first;
  data::DataLoader train(regression_data(48), kLoading);
  trainer::Trainer({.max_epochs = 1, .callbacks = {checkpoints()}}).fit(first, train);
  const std::string saved = bytes_of(last);
  REQUIRE(!saved.empty());

  Regressor second;
  trainer::Trainer resumed({.max_epochs = 2, .callbacks = {checkpoints()}});
  std::string message;
  {
    const FileSizeLimit full(kFullDiskBytes);
    message = error_of([&] { resumed.fit(second, train, nullptr, last); });
  }
  CHECK(contains(message, "save_safetensors: writing " + last));
  CHECK(contains(message, "File too large"));
  CHECK(resumed.global_step() == 8);  // the first save of the resumed epoch, after step 6 + 2
  CHECK(bytes_of(last) == saved);
  CHECK(files_in(dir.path()) == std::set<std::string>{"last.safetensors"});  // no temporary left
}

TEST_CASE("ModelCheckpoint on_save_error = retry: fit trains on through a full disk and saves once there is room") {
  const distributed::TemporaryDirectory dir("ember-disk-retry");
  // A save every 4 steps, ranked by recency and all kept: step 4's save fails, is retried after
  // step 5 (a step no schedule would save at) once the disk has room, and the epoch ends saved.
  const trainer::ModelCheckpointOptions options{.dirpath = dir.path(), .save_top_k = -1, .save_last = true,
                                                .every_n_train_steps = 4,
                                                .on_save_error = trainer::ModelCheckpointOptions::OnSaveError::retry};
  Regressor module;
  data::DataLoader train(regression_data(48), kLoading);
  {
    FileSizeLimit full(kFullDiskBytes);
    trainer::Trainer trainer({.max_epochs = 1,
                              .callbacks = {std::make_shared<RoomAfter>(&full, 5),
                                            std::make_shared<trainer::ModelCheckpoint>(options)}});
    trainer.fit(module, train);
    CHECK(trainer.global_step() == 6);
  }
  CHECK(files_in(dir.path()) ==
        std::set<std::string>{"epoch=0-step=5.safetensors", "epoch=0-step=6.safetensors", "last.safetensors"});
  Regressor same;
  same.load_state_dict(trainer::checkpoint_weights(dir.path() + "/last.safetensors"));
  CHECK(same.parameters()[0].to_vector<float>() == module.parameters()[0].to_vector<float>());
}

TEST_CASE("ModelCheckpoint on_save_error = retry: a save still failing when fit ends is the error") {
  const distributed::TemporaryDirectory dir("ember-disk-never");
  Regressor module;
  data::DataLoader train(regression_data(48), kLoading);
  trainer::Trainer trainer(
      {.max_epochs = 2,
       .callbacks = {std::make_shared<trainer::ModelCheckpoint>(trainer::ModelCheckpointOptions{
           .dirpath = dir.path(), .save_top_k = 0, .save_last = true,
           .on_save_error = trainer::ModelCheckpointOptions::OnSaveError::retry})}});
  std::string message;
  {
    const FileSizeLimit full(kFullDiskBytes);
    message = error_of([&] { trainer.fit(module, train); });
  }
  CHECK(trainer.global_step() == 12);  // both epochs trained through the failures
  CHECK(contains(message, "fit ended with its last save still failing, so the run's final state is not saved"));
  CHECK(contains(message, "File too large"));
  CHECK(files_in(dir.path()).empty());
}

TEST_CASE("the loggers train on through a full disk, and their files hold every epoch once there is room") {
  // CSVLogger and TensorBoardLogger rewrite their files whole at each epoch end: epoch 0's writes
  // (step 6) fail, and epoch 1's (step 12, the disk freed after step 9) hold both epochs.
  const distributed::TemporaryDirectory dir("ember-disk-logs");
  const std::string metrics = dir.path() + "/csv/version_0/metrics.csv";
  // Whether metrics.csv exists after step 7, while the disk is still full.
  struct Probe : trainer::Callback {
    std::string path;
    bool existed = true;
    void on_train_batch_end(trainer::Trainer& trainer, trainer::TrainModule&, std::int64_t, std::int64_t,
                            const Tensor&) override {
      if (trainer.global_step() == 7) existed = std::filesystem::exists(path);
    }
  };
  auto probe = std::make_shared<Probe>();
  probe->path = metrics;
  Regressor module;
  data::DataLoader train(regression_data(48), kLoading);
  {
    FileSizeLimit full(8);  // less than the CSV header and the event file's first record
    trainer::Trainer trainer({.max_epochs = 2,
                              .callbacks = {probe, std::make_shared<RoomAfter>(&full, 9),
                                            std::make_shared<trainer::CSVLogger>(dir.path() + "/csv"),
                                            std::make_shared<trainer::TensorBoardLogger>(dir.path() + "/tb")}});
    trainer.fit(module, train);
    CHECK(trainer.global_step() == 12);
  }
  CHECK_FALSE(probe->existed);  // epoch 0's write was refused
  std::ifstream csv(metrics);
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  REQUIRE(lines.size() == 3);  // the header and both epochs
  CHECK(lines[1].rfind("0,6,", 0) == 0);
  CHECK(lines[2].rfind("1,12,", 0) == 0);
  std::size_t event_files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path() + "/tb")) {
    event_files += entry.is_regular_file() && std::filesystem::file_size(entry.path()) > 0;
  }
  CHECK(event_files == 1);
}
