#include "run_report.h"

#include <sys/resource.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/host_allocator.h"
#include "io/atomic_file.h"
#include "optim/optimizer.h"
#include "trainer/trainer.h"

namespace examples {

namespace {

double seconds_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::int64_t tensor_bytes_now() { return static_cast<std::int64_t>(ember::host_memory_stats().allocated_bytes); }
std::int64_t tensor_peak_bytes() { return static_cast<std::int64_t>(ember::host_memory_stats().peak_allocated_bytes); }

}  // namespace

RunReport::RunReport(std::string monitor, bool maximize, std::int64_t examples_per_batch)
    : monitor_(std::move(monitor)), maximize_(maximize), examples_per_batch_(examples_per_batch) {}

void RunReport::on_fit_start(ember::trainer::Trainer& trainer, ember::trainer::TrainModule&) {
  fit_start_ = Clock::now();
  ember::host_reset_peak_memory();
  figures_["world_size"] = trainer.strategy().world().world_size;
  figures_["rank"] = trainer.strategy().world().rank;
}

void RunReport::on_train_epoch_start(ember::trainer::Trainer&, ember::trainer::TrainModule&) {
  batch_clock_ = Clock::now();
}

// A batch's time runs from the end of the one before (or the epoch's start, or the last
// validation's end): waiting for the loader counts, as it does in the wall time.
void RunReport::on_train_batch_end(ember::trainer::Trainer&, ember::trainer::TrainModule&, std::int64_t, std::int64_t,
                                   const ember::Tensor&) {
  const Clock::time_point now = Clock::now();
  train_seconds_ += seconds_between(batch_clock_, now);
  batch_clock_ = now;
  ++batches_;
}

void RunReport::on_validation_start(ember::trainer::Trainer&, ember::trainer::TrainModule&) {
  fold_peak();
  ember::host_reset_peak_memory();
  validation_bytes_at_start_ = tensor_bytes_now();
  validation_start_ = Clock::now();
}

void RunReport::on_validation_end(ember::trainer::Trainer& trainer, ember::trainer::TrainModule&) {
  const Clock::time_point now = Clock::now();
  validation_seconds_ += seconds_between(validation_start_, now);
  ++validations_;
  validation_peak_extra_bytes_ = std::max(validation_peak_extra_bytes_, tensor_peak_bytes() - validation_bytes_at_start_);
  batch_clock_ = now;
  const auto found = trainer.validation_metrics().find(monitor_);
  if (found == trainer.validation_metrics().end()) return;
  const double value = found->second;
  if (!have_best_ || (maximize_ ? value > best_ : value < best_)) {
    have_best_ = true;
    best_ = value;
    figures_["best_" + monitor_] = value;
    figures_["best_epoch"] = static_cast<double>(trainer.current_epoch());
    figures_["seconds_to_best"] = seconds_between(fit_start_, now);
  }
}

void RunReport::on_fit_end(ember::trainer::Trainer& trainer, ember::trainer::TrainModule&) {
  fold_peak();
  const double world = figures_["world_size"];
  figures_["fit_seconds"] = seconds_between(fit_start_, Clock::now());
  figures_["epochs"] = static_cast<double>(trainer.completed_epochs());
  figures_["training_batches"] = static_cast<double>(batches_);
  figures_["training_seconds"] = train_seconds_;
  figures_["samples_per_second"] =
      train_seconds_ > 0 ? static_cast<double>(batches_ * examples_per_batch_) * world / train_seconds_ : 0;
  figures_["validations"] = static_cast<double>(validations_);
  figures_["seconds_per_validation"] = validations_ > 0 ? validation_seconds_ / static_cast<double>(validations_) : 0;
  figures_["validation_peak_extra_bytes"] = static_cast<double>(validation_peak_extra_bytes_);
  figures_["peak_tensor_bytes"] = static_cast<double>(peak_tensor_bytes_);
  // The optimizer that stepped: under ZeRO the sharded one, which holds this rank's share.
  figures_["optimizer_state_bytes"] =
      trainer.optimizer() != nullptr
          ? static_cast<double>(trainer.strategy().stepping_optimizer(*trainer.optimizer()).local_state_bytes())
          : 0;
}

void RunReport::fold_peak() { peak_tensor_bytes_ = std::max(peak_tensor_bytes_, tensor_peak_bytes()); }

void RunReport::write(const std::string& directory, const std::map<std::string, double>& results) const {
  nlohmann::json report = figures_;
  for (const auto& [name, value] : results) report[name] = value;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  report["peak_resident_bytes"] = static_cast<double>(usage.ru_maxrss) * 1024;  // Linux counts KiB
  const auto found = figures_.find("rank");
  const int rank = found == figures_.end() ? 0 : static_cast<int>(found->second);
  ember::io::write_text_atomically(directory + "/run_report.rank" + std::to_string(rank) + ".json", "RunReport",
                                   report.dump(2) + "\n");
}

}  // namespace examples
