#include "trainer/tensorboard_logger.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "trainer/log_directory.h"
#include "trainer/tfevents.h"
#include "trainer/trainer.h"

namespace ember::trainer {


namespace {

double seconds_since_epoch() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? std::string(name) : std::string("localhost");
}

}  // namespace

TensorBoardLogger::TensorBoardLogger(const std::string& root, int version)
    : directory_(version_directory(root, version)) {
  // TensorBoard finds event files by the "tfevents" in their name.
  const auto seconds = static_cast<long long>(seconds_since_epoch());
  path_ = (std::filesystem::path(directory_) / ("events.out.tfevents." + std::to_string(seconds) + "." + host_name()))
              .string();
}

void TensorBoardLogger::on_fit_start(Trainer&, TrainModule&) {
  if (records_.empty()) records_ = tfevents::record(tfevents::file_version_event(seconds_since_epoch()));
}

void TensorBoardLogger::on_validation_end(Trainer& trainer, TrainModule&) {
  if (!trainer.is_global_zero()) return;  // the metrics are every rank's already
  append(trainer.global_step(), trainer.validation_metrics());
}

void TensorBoardLogger::on_train_epoch_end(Trainer& trainer, TrainModule&) {
  if (!trainer.is_global_zero()) return;
  Metrics rest{{"epoch", static_cast<double>(trainer.current_epoch())}};
  for (const auto& [name, value] : trainer.metrics()) {
    if (trainer.validation_metrics().count(name) == 0) rest[name] = value;
  }
  append(trainer.global_step(), rest);
}

void TensorBoardLogger::append(std::int64_t step, const Metrics& metrics) {
  std::vector<std::pair<std::string, float>> scalars;
  for (const auto& [name, value] : metrics) scalars.emplace_back(name, static_cast<float>(value));
  records_ += tfevents::record(tfevents::scalars_event(seconds_since_epoch(), step, scalars));
  write_log_file(path_, "TensorBoardLogger", records_);
}

}  // namespace ember::trainer
