#pragma once
// CSVLogger: one row per epoch in <root>/version_<N>/metrics.csv (epoch, step, then every metric
// in name order), and the hyperparameters in hparams.yaml, like Lightning's CSVLogger. Both
// files are rewritten atomically after each epoch. When fit resumes from a checkpoint, rows of
// epochs at or after the resumed one are dropped first, so the file reads as one run.
#include <map>
#include <string>
#include <vector>

#include "trainer/callback.h"
#include "trainer/train_module.h"

namespace ember::trainer {

class CSVLogger : public Callback {
 public:
  // version < 0: the next free version_<N> under root.
  CSVLogger(std::string root, std::map<std::string, std::string> hparams = {}, int version = -1);
  void on_fit_start(Trainer& trainer, TrainModule& module) override;
  void on_train_epoch_end(Trainer& trainer, TrainModule& module) override;
  const std::string& directory() const { return directory_; }

 private:
  void write() const;
  struct Row {
    std::int64_t epoch, step;
    Metrics metrics;
  };
  std::string directory_;
  std::map<std::string, std::string> hparams_;
  std::vector<Row> rows_;
};

}  // namespace ember::trainer
