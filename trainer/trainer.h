#pragma once
// Trainer: owns the training loop and its canonical step order (docs/design.md, "The training step"):
//   1. zero the gradients (set to none) at the start of an accumulation window
//   2. forward + loss: module.training_step, under autocast with a mixed precision
//   3. backward of (loss / accumulate_grad_batches), scaled by the GradScaler with "16-mixed"
//   4. on the window's last micro-batch: unscale, clip, optimizer step (skipped when a gradient
//      is inf/NaN), scaler update, LR scheduler step (interval "step", not after a skipped step)
// The last, shorter window of an epoch still steps. Validation, test and predict run in eval
// mode under NoGradGuard (unless TrainerOptions::evaluation_no_grad is off) and autocast, like
// training.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "data/data_loader.h"
#include "optim/grad_scaler.h"
#include "trainer/callback.h"
#include "trainer/nonfinite_loss.h"
#include "trainer/preemption.h"
#include "trainer/strategy.h"
#include "trainer/train_module.h"

namespace ember::trainer {

struct TrainerOptions {
  std::int64_t max_epochs = 1;
  std::int64_t max_steps = -1;  // optimizer steps; -1: no limit
  std::int64_t accumulate_grad_batches = 1;
  double gradient_clip_val = 0;  // 0: no clipping
  enum class ClipAlgorithm { norm, value } gradient_clip_algorithm = ClipAlgorithm::norm;
  std::int64_t limit_train_batches = -1;  // -1: all
  std::int64_t limit_val_batches = -1;
  // How often fit validates within an epoch, as in Lightning: a fraction of the epoch's batches
  // (1.0: once, after the last batch; 0.25: four times) or, as an integer, every N batches.
  // Validation runs after batch i when (i + 1) % N == 0, N = max(1, floor(batches * fraction)).
  std::variant<double, std::int64_t> val_check_interval = 1.0;
  // Seeds ember's default generator at fit start. (Runs are always deterministic: every CPU
  // kernel sums in a fixed order, so there is no separate `deterministic` switch.)
  std::optional<std::uint64_t> seed = std::nullopt;
  // Where callbacks write when given no path of their own (ModelCheckpoint: <dir>/checkpoints).
  std::string default_root_dir = ".";
  std::vector<std::shared_ptr<Callback>> callbacks = {};
  // Lightning's names: "32" (f32 throughout), "16-mixed" (autocast to f16 + GradScaler),
  // "bf16-mixed" (autocast to bf16; bf16 has f32's range, so no loss scaling). Parameters and
  // optimizer state stay f32 in every mode. Unlike Lightning, "16-mixed" also runs on the CPU
  // (ember's CPU kernels compute f16 in f32).
  std::string precision = "32";
  // The GradScaler of "16-mixed" (ignored otherwise); PyTorch's defaults.
  optim::GradScalerOptions grad_scaler = {};
  // Where fit/validate/test/predict run: "cpu", "cuda" (or "gpu"), or "auto" (cuda when a GPU
  // is available). The module and every batch are moved there; with a distributed strategy on
  // CUDA, rank r of a machine uses cuda:LOCAL_RANK.
  std::string accelerator = "cpu";
  // "single", "ddp", "zero1" or "zero2" (trainer/strategy.h). The processes come from the
  // launcher: `ember-run --nproc N program ...` on one machine.
  std::string strategy = "single";
  // Processes per machine and machines: 1 and 1 for "single"; with a distributed strategy they
  // are read from the launcher's environment (LOCAL_WORLD_SIZE, WORLD_SIZE / LOCAL_WORLD_SIZE),
  // and a value set here must match it.
  std::int64_t devices = 1;
  std::int64_t num_nodes = 1;
  // How long a rank waits for the others (rendezvous and each collective) before failing.
  std::chrono::milliseconds distributed_timeout = std::chrono::minutes(5);
  // A NaN or infinite training loss (trainer/nonfinite_loss.h): stop with an Error naming the step
  // (the default), skip the batch (single process only), or ignore it. Not used under "16-mixed",
  // whose GradScaler skips the steps of non-finite gradients.
  NonfiniteLoss nonfinite_loss = NonfiniteLoss::error;
  // SIGTERM or SIGINT during fit (trainer/preemption.h): finish the step, save a checkpoint that
  // resumes at the next batch to `preemption_checkpoint` (empty: <default_root_dir>/checkpoints/
  // preempted.safetensors) and throw Preempted. Under a distributed strategy the ranks agree on
  // the step to stop at every kPreemptionAgreementSteps steps. Off: the signals end the process.
  bool handle_preemption = true;
  std::string preemption_checkpoint = "";
  // Validation, test and predict run under NoGradGuard: no autograd graph is recorded, so each
  // activation is freed as soon as the next layer has read it. false records the graph, as a
  // hand-written loop that forgets no_grad does: it is there to measure what no_grad buys
  // (bench/six_techniques), not to train with.
  bool evaluation_no_grad = true;
};

class Trainer {
 public:
  explicit Trainer(TrainerOptions options = {});

  // Trains from epoch 0, or from the end of the epoch a checkpoint was saved at when
  // `resume_from` names one: weights, optimizer and scheduler state, step counts, the random
  // generator and callback state all come back, so the run continues bit for bit.
  void fit(TrainModule& module, data::DataLoader& train, data::DataLoader* validation = nullptr,
           const std::string& resume_from = "");
  // Writes the checkpoint of the state now (safetensors, atomically): weights as "model.<name>",
  // optimizer tensors as "optimizer.<name>", the rest in metadata. Between epochs it resumes at
  // the next epoch; inside one (a callback's on_train_batch_end after an optimizer step) it holds
  // the batches done, the epoch's logs and every random stream, and fit resumes at the next batch
  // exactly as the uninterrupted run goes on (the loader's batches are a function of seed, epoch
  // and index). Inside an open gradient-accumulation window it is an Error.
  void save_checkpoint(const std::string& path, const TrainModule& module) const;
  Metrics validate(TrainModule& module, data::DataLoader& loader);
  Metrics test(TrainModule& module, data::DataLoader& loader);
  std::vector<Tensor> predict(TrainModule& module, data::DataLoader& loader);

  std::int64_t current_epoch() const { return current_epoch_; }
  // Epochs finished so far (what a checkpoint taken now resumes after).
  std::int64_t completed_epochs() const { return current_epoch_ + (epoch_finished_ ? 1 : 0); }
  std::int64_t global_step() const { return global_step_; }
  // The latest epoch's metrics: training ones, the epoch's last validation's and those callbacks
  // logged with log_metric.
  const Metrics& metrics() const { return metrics_; }
  // The results of the latest validation run by fit.
  const Metrics& validation_metrics() const { return validation_metrics_; }
  // For callbacks: adds `name` to this epoch's metrics (LearningRateMonitor's "lr-Adam").
  void log_metric(const std::string& name, double value) { logged_metrics_[name] = value; }
  // Set by a callback (EarlyStopping) to end fit after the current epoch.
  void request_stop() { should_stop_ = true; }
  bool should_stop() const { return should_stop_; }
  const TrainerOptions& options() const { return options_; }
  optim::Optimizer* optimizer() const { return config_.optimizer.get(); }
  // Whether this process is rank 0, the one that prints, logs and writes checkpoints.
  bool is_global_zero() const { return strategy_.is_global_zero(); }
  const Strategy& strategy() const { return strategy_; }
  const optim::GradScaler& grad_scaler() const { return scaler_; }
  Device device() const { return device_; }

 private:
  // Trains one epoch from batch `first` (0, or where a mid-epoch checkpoint was taken).
  void train_epoch(TrainModule& module, data::DataLoader& loader, data::DataLoader* validation, std::int64_t first);
  // Validation inside fit: the training logs so far are set aside, callbacks hear of it.
  void validate_during_fit(TrainModule& module, data::DataLoader& validation);
  // The N of "validate after every N-th batch" for an epoch of `batches` batches.
  std::int64_t validation_period(std::int64_t batches) const;
  void step_plateau_scheduler();
  // After an optimizer step: when a preemption signal came (to any rank), save and throw Preempted.
  void stop_if_preempted(TrainModule& module);
  // Runs `step` on each batch in eval mode without grad and returns what the steps logged
  // (taking it from the module, like every epoch end).
  template <class Step>
  Metrics evaluate(TrainModule& module, data::DataLoader& loader, std::int64_t limit, Step&& step);
  void clip_gradients(TrainModule& module);
  void load_checkpoint(const std::string& path, TrainModule& module);
  // The batch's tensors on device_ (copies from pinned memory run asynchronously).
  data::Batch on_device(const data::Batch& batch) const;
  // Calls `step` under the autocast scope of options_.precision.
  template <class Step>
  decltype(auto) with_precision(Step&& step) const;

  TrainerOptions options_;
  Strategy strategy_;
  Device device_;
  bool autocast_ = false;           // "16-mixed" and "bf16-mixed"
  DType autocast_dtype_ = DType::f16;
  optim::GradScaler scaler_;        // enabled with "16-mixed" only
  NonfiniteLossWatch nonfinite_watch_;
  OptimizerConfig config_;
  std::int64_t current_epoch_ = 0;
  std::int64_t global_step_ = 0;
  bool should_stop_ = false;
  bool epoch_finished_ = false;  // between an epoch's last batch and the next epoch's start
  // Mid-epoch checkpoints: the batches of the current epoch trained on so far, whether a
  // gradient-accumulation window is open (no checkpoint then: its gradients are not saved), and,
  // after loading a mid-epoch checkpoint, the batch to resume at with the epoch's logs so far.
  std::int64_t batches_done_ = 0;
  bool window_open_ = false;
  std::int64_t resume_batch_ = 0;
  TrainModule::LogState resume_logs_;
  Metrics metrics_;
  Metrics validation_metrics_;
  Metrics logged_metrics_;
};

// The model weights a checkpoint holds, ready for module.load_state_dict (e.g. the best one
// ModelCheckpoint kept).
nn::StateDict checkpoint_weights(const std::string& path);

}  // namespace ember::trainer
