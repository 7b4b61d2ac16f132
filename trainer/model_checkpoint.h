#pragma once
// ModelCheckpoint: saves Trainer checkpoints at epoch ends (Lightning's semantics): the best
// save_top_k by a monitored metric (or the latest ones with no monitor), and/or last.safetensors.
#include <string>
#include <utility>
#include <vector>

#include "trainer/callback.h"

namespace ember::trainer {

struct ModelCheckpointOptions {
  std::string dirpath = "";  // empty: <Trainer's default_root_dir>/checkpoints
  // {epoch}, {step} and {<metric>} are replaced; "{val_loss:.4f}" prints the metric with 4 decimals.
  std::string filename = "epoch={epoch}-step={step}";
  std::string monitor = "";  // empty: rank by recency
  enum class Mode { min, max } mode = Mode::min;
  int save_top_k = 1;  // -1: keep all, 0: none
  bool save_last = false;
  std::int64_t every_n_epochs = 1;
};

class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions options = {});
  void on_fit_start(Trainer& trainer, TrainModule& module) override;
  void on_train_epoch_end(Trainer& trainer, TrainModule& module) override;
  // The best checkpoint so far ("" before the first), and the kept ones with their scores.
  const std::string& best_model_path() const { return best_path_; }
  const std::vector<std::pair<double, std::string>>& kept() const { return kept_; }

 private:
  std::string format_name(const Trainer& trainer) const;
  bool ranks_above(double a, double b) const;
  ModelCheckpointOptions options_;
  std::vector<std::pair<double, std::string>> kept_;  // best first
  std::string best_path_;
};

}  // namespace ember::trainer
