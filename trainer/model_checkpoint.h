#pragma once
// ModelCheckpoint: saves Trainer checkpoints at epoch ends (Lightning's semantics): the best
// save_top_k by a monitored metric (or the latest ones with no monitor), and/or last.safetensors;
// and, by option, inside epochs every N optimizer steps or every T seconds (checkpoints that
// resume at the next batch, bit for bit: Trainer::save_checkpoint).
#include <chrono>
#include <map>
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
  // Mid-epoch saves, after the optimizer step that reaches every N-th step, and/or after the
  // first step once T seconds have passed since the last save (0: off). They write
  // last.safetensors (save_last) and, without a monitor, the next file kept by recency; a
  // monitored metric exists only at epoch ends, so with a monitor they write last.safetensors only.
  std::int64_t every_n_train_steps = 0;
  std::chrono::seconds train_time_interval{0};  // single process only: ranks' clocks do not agree
  // A save the environment refuses (io::WriteError: a full disk, a quota, an I/O error). `stop`:
  // fit ends with the error. `retry`: a warning on stderr, training goes on, and the save is tried
  // again after 1, 2, 4, ... optimizer steps (at most kMaxRetryGap apart) until one succeeds; a
  // retry writes what a mid-epoch save writes (a monitored top-k file is written only at an
  // epoch's end, so it waits for the next one), and a save still failing when fit ends is the
  // error, since the run's result would be lost. Either way the files already written stay whole.
  enum class OnSaveError { stop, retry } on_save_error = OnSaveError::stop;
};

class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions options = {});
  void on_fit_start(Trainer& trainer, TrainModule& module) override;
  void on_train_batch_end(Trainer& trainer, TrainModule& module, std::int64_t batch_index, std::int64_t batches,
                          const Tensor& loss) override;
  void on_train_epoch_end(Trainer& trainer, TrainModule& module) override;
  void on_fit_end(Trainer& trainer, TrainModule& module) override;
  static constexpr std::int64_t kMaxRetryGap = 1024;
  // The kept files with their scores and the best one, so that a resumed run goes on ranking
  // (and deleting) the files the run before it wrote, as Lightning's best_k_models.
  std::map<std::string, std::string> state() const override;
  void load_state(const std::map<std::string, std::string>& state) override;
  // The best checkpoint so far ("" before the first), and the kept ones with their scores.
  const std::string& best_model_path() const { return best_path_; }
  const std::vector<std::pair<double, std::string>>& kept() const { return kept_; }

 private:
  std::string format_name(const Trainer& trainer) const;
  bool ranks_above(double a, double b) const;
  // Saves the checkpoint named by the filename template if `score` makes the top k (best first,
  // or newest first without a monitor), removing the one it pushes out.
  void save_ranked(Trainer& trainer, TrainModule& module, double score);
  // What a mid-epoch save (or a retry) writes: the next file by recency and/or last.safetensors.
  void save_resumable(Trainer& trainer, TrainModule& module);
  void save_last(Trainer& trainer, TrainModule& module);
  // Runs `save`; under OnSaveError::retry a WriteError becomes a warning and a scheduled retry.
  template <class Save>
  void guarded(Trainer& trainer, Save&& save);
  ModelCheckpointOptions options_;
  std::vector<std::pair<double, std::string>> kept_;  // best first
  std::string best_path_;
  std::int64_t last_step_seen_ = 0;  // a batch that ends no accumulation window takes no step
  std::chrono::steady_clock::time_point last_save_;
  std::int64_t retry_at_step_ = 0;  // 0: no failed save waits
  std::int64_t retry_gap_ = 1;
};

}  // namespace ember::trainer
