#include "trainer/trainer.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/autocast.h"
#include "core/cuda.h"
#include "core/autograd/grad_mode.h"
#include "core/generator.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "optim/clip_grad.h"

namespace ember::trainer {

namespace {

std::int64_t batches_to_run(const data::DataLoader& loader, std::int64_t limit) {
  return limit < 0 ? loader.size() : std::min(limit, loader.size());
}

Device choose_device(const TrainerOptions& options, const Strategy& strategy) {
  const std::string& accelerator = options.accelerator;
  EMBER_CHECK(accelerator == "cpu" || accelerator == "cuda" || accelerator == "gpu" || accelerator == "auto",
              "Trainer: accelerator '", accelerator, "' is not supported (expected \"cpu\", \"cuda\", \"gpu\" or \"auto\")");
  const distributed::WorldInfo& world = strategy.world();
  if (!strategy.is_distributed()) {
    EMBER_CHECK(options.devices == 1 && options.num_nodes == 1, "Trainer: devices = ", options.devices,
                " and num_nodes = ", options.num_nodes, " need a distributed strategy (\"ddp\", \"zero1\", \"zero2\")");
  } else {
    EMBER_CHECK((options.devices == 1 || options.devices == world.local_world_size) &&
                    (options.num_nodes == 1 || options.num_nodes == world.num_nodes()),
                "Trainer: devices = ", options.devices, " and num_nodes = ", options.num_nodes, " do not match the ",
                "launcher's ", world.local_world_size, " processes per machine on ", world.num_nodes(), " machines");
  }
  if (accelerator == "cpu" || (accelerator == "auto" && !cuda::is_available())) return Device::cpu();
  EMBER_CHECK(cuda::is_available(), "Trainer: accelerator '", accelerator, "' asks for a GPU, but ",
              cuda::is_built() ? "no CUDA device is available on this machine" : "this build of ember has no CUDA");
  return Device::cuda(world.local_rank);
}

optim::GradScalerOptions scaler_options(const TrainerOptions& options) {
  const std::string& precision = options.precision;
  EMBER_CHECK(precision == "32" || precision == "16-mixed" || precision == "bf16-mixed", "Trainer: precision '",
              precision, "' is not supported (expected \"32\", \"16-mixed\" or \"bf16-mixed\")");
  optim::GradScalerOptions scaler = options.grad_scaler;
  scaler.enabled = precision == "16-mixed";
  return scaler;
}

}  // namespace

Trainer::Trainer(TrainerOptions options)
    : options_(std::move(options)),
      strategy_(options_.strategy, options_.distributed_timeout),
      device_(choose_device(options_, strategy_)),
      autocast_(options_.precision != "32"),
      autocast_dtype_(options_.precision == "bf16-mixed" ? DType::bf16 : DType::f16),
      scaler_(scaler_options(options_)),
      nonfinite_watch_(options_.precision == "16-mixed" ? NonfiniteLoss::ignore : options_.nonfinite_loss) {
  EMBER_CHECK(options_.max_epochs >= 1, "Trainer: max_epochs must be at least 1, got ", options_.max_epochs);
  EMBER_CHECK(options_.accumulate_grad_batches >= 1, "Trainer: accumulate_grad_batches must be at least 1, got ",
              options_.accumulate_grad_batches);
  EMBER_CHECK(options_.gradient_clip_val >= 0, "Trainer: gradient_clip_val must be >= 0, got ",
              options_.gradient_clip_val);
  // A rank that skipped its backward would leave the others waiting in the gradient all-reduce.
  EMBER_CHECK(options_.nonfinite_loss != NonfiniteLoss::skip || !strategy_.is_distributed(),
              "Trainer: nonfinite_loss = skip needs a single process (strategy \"single\"), got strategy \"",
              options_.strategy, "\"; use error");
  if (const double* fraction = std::get_if<double>(&options_.val_check_interval)) {
    EMBER_CHECK(*fraction > 0 && *fraction <= 1, "Trainer: val_check_interval as a fraction of an epoch must be in "
                "(0, 1], got ", *fraction, " (give an integer to validate every N batches)");
  }
}

data::Batch Trainer::on_device(const data::Batch& batch) const {
  if (device_.is_cpu()) return batch;
  data::Batch moved;
  for (const Tensor& tensor : batch) {
    moved.push_back(tensor.defined() ? to(tensor, device_, /*non_blocking=*/true) : tensor);
  }
  return moved;
}

template <class Step>
decltype(auto) Trainer::with_precision(Step&& step) const {
  AutocastGuard autocast(autocast_dtype_, autocast_);
  return step();
}

void Trainer::fit(TrainModule& module, data::DataLoader& train, data::DataLoader* validation,
                  const std::string& resume_from) {
  if (options_.seed) manual_seed(*options_.seed);
  module.to(device_);  // before the optimizer exists, so its state is made on the device
  config_ = module.configure_optimizers();
  EMBER_CHECK(config_.optimizer != nullptr, module.type_name(), ": configure_optimizers returned no optimizer");
  strategy_.setup(module, *config_.optimizer, device_, train, validation);
  if (!resume_from.empty()) load_checkpoint(resume_from, module);
  should_stop_ = false;
  std::optional<PreemptionWatch> preemption;
  if (options_.handle_preemption) preemption.emplace();
  for (const auto& callback : options_.callbacks) callback->on_fit_start(*this, module);

  while (current_epoch_ < options_.max_epochs && !should_stop_) {
    train.set_epoch(current_epoch_);
    validation_metrics_.clear();
    const std::int64_t first = std::exchange(resume_batch_, 0);
    if (first > 0) {  // the epoch began before the checkpoint: its start is not repeated
      train.set_start_batch(first);
      module.restore_logs(std::exchange(resume_logs_, {}));
    } else {
      logged_metrics_.clear();
      for (const auto& callback : options_.callbacks) callback->on_train_epoch_start(*this, module);
    }
    train_epoch(module, train, validation, first);
    nonfinite_watch_.check();
    metrics_ = strategy_.take_epoch_metrics(module);
    for (const auto& [name, value] : validation_metrics_) metrics_[name] = value;
    for (const auto& [name, value] : logged_metrics_) metrics_[name] = value;
    if (config_.scheduler && config_.interval == OptimizerConfig::Interval::epoch) config_.scheduler->step();
    step_plateau_scheduler();
    epoch_finished_ = true;
    batches_done_ = 0;
    for (const auto& callback : options_.callbacks) callback->on_train_epoch_end(*this, module);
    ++current_epoch_;
    epoch_finished_ = false;
    if (options_.max_steps >= 0 && global_step_ >= options_.max_steps) should_stop_ = true;
  }
  for (const auto& callback : options_.callbacks) callback->on_fit_end(*this, module);
}

void Trainer::train_epoch(TrainModule& module, data::DataLoader& loader, data::DataLoader* validation,
                          std::int64_t first) {
  module.train();
  const std::int64_t batches = batches_to_run(loader, options_.limit_train_batches);
  const std::int64_t period = validation != nullptr ? validation_period(batches) : 0;  // 0: never validates
  std::int64_t last_validated = -1;
  const std::int64_t window = options_.accumulate_grad_batches;
  optim::Optimizer& optimizer = strategy_.stepping_optimizer(*config_.optimizer);
  std::int64_t index = first;
  batches_done_ = first;
  bool window_learned = false;  // whether a batch of the current window ran its backward
  for (const data::Batch& batch : loader) {
    if (index >= batches || (options_.max_steps >= 0 && global_step_ >= options_.max_steps)) break;
    if (index % window == 0) optimizer.zero_grad(/*set_to_none=*/true);                     // 1
    const data::Batch inputs = on_device(batch);
    strategy_.before_training_step();
    const Tensor loss = with_precision([&] { return module.training_step(inputs, index); });  // 2
    EMBER_CHECK(loss.defined() && loss.numel() == 1, module.type_name(),
                ": training_step must return a one-element loss, got ", describe(loss));
    const bool window_ends = (index + 1) % window == 0 || index + 1 == batches;
    if (!nonfinite_watch_.skips(loss, current_epoch_, index, global_step_)) {
      strategy_.backward(window_ends, [&] {                                                 // 3
        scaler_.scale(window == 1 ? loss : div(loss, static_cast<double>(window))).backward();
      });
      window_learned = true;
    }
    if (window_ends && window_learned) {                                                    // 4
      strategy_.after_window_backward();
      scaler_.unscale_(optimizer);  // clipping sees the true gradients
      clip_gradients(module);
      const bool stepped = scaler_.step(optimizer);
      scaler_.update();
      ++global_step_;
      if (stepped && config_.scheduler && config_.interval == OptimizerConfig::Interval::step) {
        config_.scheduler->step();
      }
    }
    if (window_ends) {
      window_learned = false;
      batches_done_ = index + 1;
    }
    window_open_ = !window_ends;
    const Tensor batch_loss = loss.detach();  // one detached handle for every callback
    for (const auto& callback : options_.callbacks) {
      callback->on_train_batch_end(*this, module, index, batches, batch_loss);
    }
    if (window_ends && options_.handle_preemption) stop_if_preempted(module);
    if (validation != nullptr && (index + 1) % period == 0) {
      validate_during_fit(module, *validation);
      last_validated = index;
    }
    ++index;
  }
  // The epoch's last batch always validates, also when the period does not divide the epoch or
  // max_steps cut it short, so epoch-end callbacks judge the final weights. (Lightning skips
  // this when the period does not divide the epoch.)
  if (validation != nullptr && index > 0 && last_validated != index - 1) validate_during_fit(module, *validation);
}

std::int64_t Trainer::validation_period(std::int64_t batches) const {
  if (const double* fraction = std::get_if<double>(&options_.val_check_interval)) {
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(batches) * *fraction));
  }
  const std::int64_t every = std::get<std::int64_t>(options_.val_check_interval);
  EMBER_CHECK(every >= 1 && every <= batches, "Trainer: val_check_interval ", every,
              " must be between 1 and the number of training batches per epoch, ", batches);
  return every;
}

void Trainer::validate_during_fit(TrainModule& module, data::DataLoader& validation) {
  nonfinite_watch_.check();  // no point validating weights a non-finite loss has reached
  TrainModule::LogState training_logs = module.set_aside_logs();
  for (const auto& callback : options_.callbacks) callback->on_validation_start(*this, module);
  validation_metrics_ = validate(module, validation);
  module.restore_logs(std::move(training_logs));
  for (const auto& callback : options_.callbacks) callback->on_validation_end(*this, module);
}

void Trainer::stop_if_preempted(TrainModule& module) {
  int signal = PreemptionWatch::received();
  // Every rank must stop at the same step, and signals reach them at different ones: the ranks
  // agree every kPreemptionAgreementSteps steps (an all-reduce read on the host, a wait for the
  // GPU under NCCL, so not every step).
  if (strategy_.is_distributed()) {
    if (global_step_ % kPreemptionAgreementSteps != 0) return;
    signal = static_cast<int>(strategy_.max_over_processes(signal));
  }
  if (signal == 0) return;
  const std::string path = !options_.preemption_checkpoint.empty()
                               ? options_.preemption_checkpoint
                               : (std::filesystem::path(options_.default_root_dir) / "checkpoints" /
                                  "preempted.safetensors").string();
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  save_checkpoint(path, module);
  throw Preempted(signal, path);
}

void Trainer::step_plateau_scheduler() {
  if (!config_.plateau) return;
  const auto found = metrics_.find(config_.monitor);
  if (found == metrics_.end()) {
    std::string logged;
    for (const auto& entry : metrics_) logged += (logged.empty() ? "" : ", ") + entry.first;
    fail("Trainer: ReduceLROnPlateau monitors '", config_.monitor, "', which was not logged this epoch (logged: ",
         logged.empty() ? "nothing" : logged, ")");
  }
  config_.plateau->step(found->second);
}

void Trainer::clip_gradients(TrainModule& module) {
  if (options_.gradient_clip_val == 0) return;
  if (options_.gradient_clip_algorithm == TrainerOptions::ClipAlgorithm::norm) {
    strategy_.clip_grad_norm_(module.parameters(), options_.gradient_clip_val);
  } else {
    optim::clip_grad_value_(module.parameters(), options_.gradient_clip_val);
  }
}

template <class Step>
Metrics Trainer::evaluate(TrainModule& module, data::DataLoader& loader, std::int64_t limit, Step&& step) {
  const bool was_training = module.is_training();
  module.to(device_);
  module.eval();
  {
    std::optional<NoGradGuard> no_grad;
    if (options_.evaluation_no_grad) no_grad.emplace();
    const std::int64_t batches = batches_to_run(loader, limit);
    std::int64_t index = 0;
    for (const data::Batch& batch : loader) {
      if (index >= batches) break;
      const data::Batch inputs = on_device(batch);
      with_precision([&] { step(inputs, index); });
      ++index;
    }
  }
  module.train(was_training);
  return strategy_.take_epoch_metrics(module);
}

Metrics Trainer::validate(TrainModule& module, data::DataLoader& loader) {
  strategy_.shard_for_evaluation(loader);
  return evaluate(module, loader, options_.limit_val_batches,
                  [&](const data::Batch& batch, std::int64_t index) { module.validation_step(batch, index); });
}

Metrics Trainer::test(TrainModule& module, data::DataLoader& loader) {
  strategy_.shard_for_evaluation(loader);
  return evaluate(module, loader, -1, [&](const data::Batch& batch, std::int64_t index) { module.test_step(batch, index); });
}

std::vector<Tensor> Trainer::predict(TrainModule& module, data::DataLoader& loader) {
  std::vector<Tensor> outputs;
  evaluate(module, loader, -1, [&](const data::Batch& batch, std::int64_t index) {
    outputs.push_back(module.predict_step(batch, index));
  });
  return outputs;
}

}  // namespace ember::trainer
