#pragma once
// TensorBoardLogger: scalars in a TensorBoard event file under <root>/version_<N>/
// (`tensorboard --logdir <root>` shows them), like Lightning's TensorBoardLogger. Validation
// metrics are written after every validation, the epoch's other metrics (training ones, the
// learning rates, "epoch") at its end, all at the trainer's global step. The file is rewritten
// atomically each time, so a crash never leaves a torn record.
#include <string>

#include "trainer/callback.h"
#include "trainer/train_module.h"

namespace ember::trainer {

class TensorBoardLogger : public Callback {
 public:
  // version < 0: the next free version_<N> under root.
  explicit TensorBoardLogger(const std::string& root, int version = -1);
  void on_fit_start(Trainer& trainer, TrainModule& module) override;
  void on_validation_end(Trainer& trainer, TrainModule& module) override;
  void on_train_epoch_end(Trainer& trainer, TrainModule& module) override;
  const std::string& directory() const { return directory_; }
  const std::string& path() const { return path_; }

 private:
  void append(std::int64_t step, const Metrics& metrics);
  std::string directory_, path_;
  std::string records_;  // the file's content so far
};

}  // namespace ember::trainer
