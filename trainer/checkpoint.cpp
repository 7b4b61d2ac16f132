// Trainer::save_checkpoint / load_checkpoint: the whole training state in one safetensors file.
#include <exception>
#include <limits>

#include "core/generator.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "trainer/number_text.h"
#include "trainer/trainer.h"

namespace ember::trainer {

using io::load_safetensors;
using io::NamedTensors;
using io::SafetensorsFile;
using io::save_safetensors;

namespace {

constexpr const char* kFormat = "ember-checkpoint-1";
const std::string kModel = "model.", kOptimizer = "optimizer.", kPlateau = "plateau.", kScaler = "grad_scaler.";
// A mid-epoch checkpoint's logs: "log.<metric>.sum" / ".weight", and "logged.<metric>" (log_metric).
const std::string kLog = "log.", kLoggedMetric = "logged.";

double parse_double(const std::string& path, const std::string& key, const std::string& text) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  return parse_number(text, "load_checkpoint: " + path + ": metadata '" + key + "'", -kInfinity, kInfinity);
}

const std::string& required(const std::string& path, const std::map<std::string, std::string>& metadata,
                            const std::string& key) {
  const auto found = metadata.find(key);
  EMBER_CHECK(found != metadata.end(), "load_checkpoint: ", path, " has no '", key,
              "' entry: not an ember checkpoint, or a damaged one");
  return found->second;
}

// A whole-number entry of the metadata, from `minimum` to `maximum`.
template <class T>
T whole_entry(const std::string& path, const std::map<std::string, std::string>& metadata, const std::string& key,
              T minimum, T maximum = std::numeric_limits<T>::max()) {
  return parse_number(required(path, metadata, key), "load_checkpoint: " + path + ": metadata '" + key + "'", minimum,
                      maximum);
}

// Loads `path` and checks that it is an ember checkpoint; `what` names the caller.
SafetensorsFile load_checked(const std::string& path, const char* what) {
  SafetensorsFile file = load_safetensors(path);
  EMBER_CHECK(required(path, file.metadata, "format") == kFormat, what, ": ", path, " has format '",
              file.metadata.at("format"), "', expected ", kFormat);
  return file;
}

nn::StateDict model_weights(const SafetensorsFile& file) {
  nn::StateDict model;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind(kModel, 0) == 0) model.emplace_back(name.substr(kModel.size()), tensor);
  }
  return model;
}

}  // namespace

void Trainer::save_checkpoint(const std::string& path, const TrainModule& module) const {
  EMBER_CHECK(config_.optimizer != nullptr, "save_checkpoint: nothing to save before fit() configured the optimizer");
  EMBER_CHECK(!window_open_, "save_checkpoint: '", path, "' asked for inside a gradient-accumulation window (batch ",
              batches_done_, " of epoch ", current_epoch_, "): its gradients are not saved; save after the window's "
              "optimizer step (every_n_train_steps counts those)");
  const bool mid_epoch = !epoch_finished_ && batches_done_ > 0;
  NamedTensors tensors;
  for (const auto& [name, tensor] : module.state_dict()) tensors.emplace_back(kModel + name, tensor);
  // A collective under ZeRO (each rank holds part of the state): every rank gets here.
  const optim::OptimizerState optimizer = strategy_.stepping_optimizer(*config_.optimizer).state();
  // Rank 0 writes; the others wait for its verdict, an all-reduce rather than a barrier, so that a
  // failed write (a full disk) fails every rank alike at once instead of at the next collective's timeout.
  // The verdict (a number, for the all-reduce): written, a write error (WriteError: the
  // environment's, worth a retry), or another error.
  enum Verdict { written = 0, write_error = 1, other_error = 2 };
  if (!strategy_.is_global_zero()) {
    const auto verdict = static_cast<Verdict>(strategy_.max_over_processes(written));
    const std::string failed = "save_checkpoint: rank 0 could not write " + path + " (rank 0's error says why)";
    if (verdict == write_error) throw io::WriteError(failed);
    if (verdict == other_error) throw Error(failed);
    return;
  }
  for (const auto& [name, tensor] : optimizer.tensors) tensors.emplace_back(kOptimizer + name, tensor);

  std::map<std::string, std::string> metadata{{"format", kFormat},
                                              {"epoch", std::to_string(completed_epochs())},
                                              {"batch_in_epoch", std::to_string(mid_epoch ? batches_done_ : 0)},
                                              {"global_step", std::to_string(global_step_)},
                                              {"rng.seed", std::to_string(default_generator().seed())},
                                              {"rng.offset", std::to_string(default_generator().offset())}};
  for (const auto& [name, value] : optimizer.scalars) metadata[kOptimizer + name] = exact_text(value);
  if (config_.scheduler) metadata["scheduler.last_epoch"] = std::to_string(config_.scheduler->last_epoch());
  if (config_.plateau) {
    for (const auto& [name, value] : config_.plateau->state()) metadata[kPlateau + name] = exact_text(value);
  }
  if (scaler_.is_enabled()) {
    for (const auto& [name, value] : scaler_.state()) metadata[kScaler + name] = exact_text(value);
  }
  if (mid_epoch) {  // what the epoch's metrics have gathered so far
    for (const auto& [name, accumulator] : module.logs()) {
      metadata[kLog + name + ".sum"] = exact_text(accumulator.total_weighted_sum());
      metadata[kLog + name + ".weight"] = exact_text(accumulator.weight);
    }
    for (const auto& [name, value] : logged_metrics_) metadata[kLoggedMetric + name] = exact_text(value);
  }
  for (std::size_t i = 0; i < options_.callbacks.size(); ++i) {
    for (const auto& [key, value] : options_.callbacks[i]->state()) {
      metadata["callback." + std::to_string(i) + "." + key] = value;
    }
  }
  Verdict verdict = written;
  std::exception_ptr failure;
  try {
    save_safetensors(path, tensors, metadata);
  } catch (const io::WriteError&) {
    verdict = write_error;
    failure = std::current_exception();
  } catch (...) {
    verdict = other_error;
    failure = std::current_exception();
  }
  strategy_.max_over_processes(verdict);
  if (failure) std::rethrow_exception(failure);
}

nn::StateDict checkpoint_weights(const std::string& path) {
  return model_weights(load_checked(path, "checkpoint_weights"));
}

void Trainer::load_checkpoint(const std::string& path, TrainModule& module) {
  const SafetensorsFile file = load_checked(path, "load_checkpoint");
  const nn::StateDict model = model_weights(file);
  optim::OptimizerState optimizer;
  for (const auto& [name, tensor] : file.tensors) {
    if (name.rfind(kOptimizer, 0) == 0) optimizer.tensors.emplace_back(name.substr(kOptimizer.size()), tensor);
  }
  std::map<std::string, std::map<std::string, std::string>> callback_states;
  std::map<std::string, double> plateau, scaler;
  TrainModule::LogState logs;
  Metrics logged_metrics;
  for (const auto& [key, value] : file.metadata) {
    if (key.rfind(kLog, 0) == 0) {
      const std::size_t dot = key.rfind('.');
      const std::string name = key.substr(kLog.size(), dot - kLog.size()), part = key.substr(dot + 1);
      EMBER_CHECK(dot > kLog.size() && (part == "sum" || part == "weight"), "load_checkpoint: '", path,
                  "' has an unknown log entry '", key, "'");
      (part == "sum" ? logs[name].weighted_sum : logs[name].weight) = parse_double(path, key, value);
    }
    if (key.rfind(kLoggedMetric, 0) == 0) logged_metrics[key.substr(kLoggedMetric.size())] = parse_double(path, key, value);
    if (key.rfind(kOptimizer, 0) == 0) optimizer.scalars[key.substr(kOptimizer.size())] = parse_double(path, key, value);
    if (key.rfind(kPlateau, 0) == 0) plateau[key.substr(kPlateau.size())] = parse_double(path, key, value);
    if (key.rfind(kScaler, 0) == 0) scaler[key.substr(kScaler.size())] = parse_double(path, key, value);
    if (key.rfind("callback.", 0) == 0) {
      const std::size_t dot = key.find('.', 9);
      callback_states[key.substr(9, dot - 9)][key.substr(dot + 1)] = value;
    }
  }
  module.load_state_dict(model);
  strategy_.stepping_optimizer(*config_.optimizer).load_state(optimizer);
  if (config_.scheduler) {
    config_.scheduler->set_last_epoch(whole_entry<std::int64_t>(path, file.metadata, "scheduler.last_epoch", -1));
  }
  if (config_.plateau) config_.plateau->load_state(plateau);
  // A checkpoint from a run without a scaler resumes under "16-mixed" with a fresh one.
  if (scaler_.is_enabled() && !scaler.empty()) scaler_.load_state(scaler);
  // An epoch count a run could reach (a corrupt -10^12 would otherwise run 10^12 epochs).
  current_epoch_ = whole_entry<std::int64_t>(path, file.metadata, "epoch", 0, std::int64_t{1} << 31);
  // (Checkpoints written before mid-epoch ones existed have no batch_in_epoch: an epoch boundary.)
  resume_batch_ = file.metadata.count("batch_in_epoch")
                      ? whole_entry<std::int64_t>(path, file.metadata, "batch_in_epoch", 0, std::int64_t{1} << 40)
                      : 0;
  resume_logs_ = resume_batch_ > 0 ? std::move(logs) : TrainModule::LogState{};
  if (resume_batch_ > 0) logged_metrics_ = std::move(logged_metrics);
  global_step_ = whole_entry<std::int64_t>(path, file.metadata, "global_step", 0);
  default_generator().set_state(whole_entry<std::uint64_t>(path, file.metadata, "rng.seed", 0),
                                whole_entry<std::uint64_t>(path, file.metadata, "rng.offset", 0));
  for (std::size_t i = 0; i < options_.callbacks.size(); ++i) {
    const auto found = callback_states.find(std::to_string(i));
    if (found != callback_states.end()) options_.callbacks[i]->load_state(found->second);
  }
}

}  // namespace ember::trainer
