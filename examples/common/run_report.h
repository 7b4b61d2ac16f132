#pragma once
// A run's timings and memory, machine-readable: what bench/six_techniques compares between runs,
// and what a user checks after one. A Callback that times the training batches and every
// validation pass, notes the epoch and the time at which the monitored metric was best, and
// follows the peak bytes held by tensors (over the whole fit, and in each validation pass above
// what it started with). write() adds the process's peak resident memory, the optimizer's state
// bytes and the caller's final figures, and writes <directory>/run_report.rank<R>.json
// atomically, one file per rank.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "trainer/callback.h"

namespace examples {

class RunReport : public ember::trainer::Callback {
 public:
  // `monitor`: the metric early stopping and the best checkpoint follow (larger is better when
  // `maximize`); `examples_per_batch`: a training batch's examples on one rank.
  RunReport(std::string monitor, bool maximize, std::int64_t examples_per_batch);

  void on_fit_start(ember::trainer::Trainer& trainer, ember::trainer::TrainModule&) override;
  void on_train_epoch_start(ember::trainer::Trainer&, ember::trainer::TrainModule&) override;
  void on_train_batch_end(ember::trainer::Trainer&, ember::trainer::TrainModule&, std::int64_t, std::int64_t,
                          const ember::Tensor&) override;
  void on_validation_start(ember::trainer::Trainer&, ember::trainer::TrainModule&) override;
  void on_validation_end(ember::trainer::Trainer& trainer, ember::trainer::TrainModule&) override;
  void on_fit_end(ember::trainer::Trainer& trainer, ember::trainer::TrainModule&) override;

  // Writes the report with `results` (the test accuracy, say) added under their names.
  void write(const std::string& directory, const std::map<std::string, double>& results) const;

 private:
  using Clock = std::chrono::steady_clock;
  // Folds the tensors' peak since the last reset into the fit's peak.
  void fold_peak();

  std::string monitor_;
  bool maximize_;
  std::int64_t examples_per_batch_;
  std::map<std::string, double> figures_;  // what write() puts in the file besides `results`
  Clock::time_point fit_start_, batch_clock_, validation_start_;
  double train_seconds_ = 0, validation_seconds_ = 0, best_ = 0;
  std::int64_t batches_ = 0, validations_ = 0, validation_bytes_at_start_ = 0;
  std::int64_t peak_tensor_bytes_ = 0, validation_peak_extra_bytes_ = 0;
  bool have_best_ = false;
};

}  // namespace examples
