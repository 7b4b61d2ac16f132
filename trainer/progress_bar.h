#pragma once
// ProgressBar: on a terminal, one live line per epoch redrawn in place (bar, batches, rate,
// ETA, loss); elsewhere (logs, CI) plain lines at every quarter of the epoch. Epoch metrics
// follow each epoch.
#include <chrono>
#include <cstdio>

#include "trainer/callback.h"

namespace ember::trainer {

class ProgressBar : public Callback {
 public:
  // `out` defaults to stdout; whether it is a terminal decides the style.
  explicit ProgressBar(std::FILE* out = stdout);
  // Reads the loss only when it draws: live, at most 10 times a second; otherwise at each
  // quarter of the epoch.
  void on_train_batch_end(Trainer& trainer, TrainModule& module, std::int64_t batch_index, std::int64_t batches,
                          const Tensor& loss) override;
  void on_train_epoch_end(Trainer& trainer, TrainModule& module) override;

 private:
  std::FILE* out_;
  bool live_;
  std::chrono::steady_clock::time_point epoch_start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ember::trainer
