#include "trainer/model_checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>

#include "io/atomic_file.h"
#include "trainer/number_text.h"
#include "trainer/trainer.h"

namespace ember::trainer {

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions options) : options_(std::move(options)) {
  EMBER_CHECK(options_.save_top_k >= -1, "ModelCheckpoint: save_top_k must be >= -1, got ", options_.save_top_k);
  EMBER_CHECK(options_.every_n_epochs >= 1, "ModelCheckpoint: every_n_epochs must be >= 1");
  EMBER_CHECK(options_.every_n_train_steps >= 0 && options_.train_time_interval.count() >= 0,
              "ModelCheckpoint: every_n_train_steps and train_time_interval must be >= 0");
  const bool mid_epoch = options_.every_n_train_steps > 0 || options_.train_time_interval.count() > 0;
  EMBER_CHECK(!mid_epoch || options_.save_last || (options_.monitor.empty() && options_.save_top_k != 0),
              "ModelCheckpoint: mid-epoch saves (every_n_train_steps, train_time_interval) would write nothing: "
              "they write last.safetensors (save_last) or, without a monitor, the top-k files by recency");
}

void ModelCheckpoint::on_fit_start(Trainer& trainer, TrainModule&) {
  if (options_.dirpath.empty()) {
    options_.dirpath = (std::filesystem::path(trainer.options().default_root_dir) / "checkpoints").string();
  }
  std::filesystem::create_directories(options_.dirpath);
  EMBER_CHECK(options_.train_time_interval.count() == 0 || !trainer.strategy().is_distributed(),
              "ModelCheckpoint: train_time_interval needs a single process (each rank's clock would pick other "
              "steps, and a checkpoint is written by all of them); use every_n_train_steps");
  last_step_seen_ = trainer.global_step();
  last_save_ = std::chrono::steady_clock::now();
}

void ModelCheckpoint::on_train_batch_end(Trainer& trainer, TrainModule& module, std::int64_t, std::int64_t,
                                         const Tensor&) {
  const std::int64_t step = trainer.global_step();
  if (step == last_step_seen_) return;  // inside an accumulation window
  last_step_seen_ = step;
  const bool by_steps = options_.every_n_train_steps > 0 && step % options_.every_n_train_steps == 0;
  const bool by_time = options_.train_time_interval.count() > 0 &&
                       std::chrono::steady_clock::now() - last_save_ >= options_.train_time_interval;
  const bool retry_due = retry_at_step_ > 0 && step >= retry_at_step_;
  if (!by_steps && !by_time && !retry_due) return;
  guarded(trainer, [&] { save_resumable(trainer, module); });
  last_save_ = std::chrono::steady_clock::now();
}

void ModelCheckpoint::save_resumable(Trainer& trainer, TrainModule& module) {
  if (options_.monitor.empty() && options_.save_top_k != 0) {
    save_ranked(trainer, module, static_cast<double>(trainer.global_step()));
  }
  save_last(trainer, module);
}

void ModelCheckpoint::save_last(Trainer& trainer, TrainModule& module) {
  // Written after the ranking, so that its copy of this callback's state knows the file just kept.
  if (options_.save_last) trainer.save_checkpoint((std::filesystem::path(options_.dirpath) / "last.safetensors").string(), module);
}

template <class Save>
void ModelCheckpoint::guarded(Trainer& trainer, Save&& save) {
  if (options_.on_save_error == ModelCheckpointOptions::OnSaveError::stop) {
    save();
    return;
  }
  try {
    save();
  } catch (const io::WriteError& error) {
    retry_at_step_ = trainer.global_step() + retry_gap_;
    if (trainer.is_global_zero()) {
      std::cerr << "ember: warning: " << error.what() << "; training goes on, the save is retried after step "
                << retry_at_step_ << "\n";
    }
    retry_gap_ = std::min(2 * retry_gap_, kMaxRetryGap);
    return;
  }
  retry_at_step_ = 0;
  retry_gap_ = 1;
}

void ModelCheckpoint::on_fit_end(Trainer& trainer, TrainModule& module) {
  if (retry_at_step_ == 0) return;
  try {
    save_resumable(trainer, module);
  } catch (const io::WriteError& error) {
    throw io::WriteError(std::string("ModelCheckpoint: fit ended with its last save still failing, so the run's "
                                     "final state is not saved: ") + error.what());
  }
  retry_at_step_ = 0;
}

bool ModelCheckpoint::ranks_above(double a, double b) const {
  return options_.mode == ModelCheckpointOptions::Mode::min ? a < b : a > b;
}

std::string ModelCheckpoint::format_name(const Trainer& trainer) const {
  std::string name;
  const std::string& pattern = options_.filename;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::size_t close = pattern.find('}', i);
    if (pattern[i] != '{' || close == std::string::npos) {
      name += pattern[i];
      continue;
    }
    std::string key = pattern.substr(i + 1, close - i - 1), spec;
    if (const std::size_t colon = key.find(':'); colon != std::string::npos) {
      spec = key.substr(colon + 1);
      key = key.substr(0, colon);
    }
    if (key == "epoch") {
      name += std::to_string(trainer.current_epoch());
    } else if (key == "step") {
      name += std::to_string(trainer.global_step());
    } else {
      const auto found = trainer.metrics().find(key);
      EMBER_CHECK(found != trainer.metrics().end(), "ModelCheckpoint: filename uses '{", key,
                  "}', which was not logged this epoch");
      std::string format = "%";
      format.append(spec.empty() ? "g" : spec);
      char number[64];
      std::snprintf(number, sizeof(number), format.c_str(), found->second);
      name.append(number);
    }
    i = close;
  }
  return name + ".safetensors";
}

void ModelCheckpoint::on_train_epoch_end(Trainer& trainer, TrainModule& module) {
  if ((trainer.current_epoch() + 1) % options_.every_n_epochs != 0) return;
  if (options_.save_top_k != 0) {
    double score = static_cast<double>(trainer.global_step());  // no monitor: newest ranks first
    if (!options_.monitor.empty()) {
      const auto found = trainer.metrics().find(options_.monitor);
      EMBER_CHECK(found != trainer.metrics().end(), "ModelCheckpoint: metric '", options_.monitor,
                  "' was not logged this epoch");
      score = found->second;
    }
    guarded(trainer, [&] { save_ranked(trainer, module, score); });
  }
  guarded(trainer, [&] { save_last(trainer, module); });
  last_save_ = std::chrono::steady_clock::now();
}

std::map<std::string, std::string> ModelCheckpoint::state() const {
  std::map<std::string, std::string> state{{"kept", std::to_string(kept_.size())}, {"best", best_path_}};
  for (std::size_t i = 0; i < kept_.size(); ++i) {
    state["kept." + std::to_string(i) + ".score"] = exact_text(kept_[i].first);
    state["kept." + std::to_string(i) + ".path"] = kept_[i].second;
  }
  return state;
}

void ModelCheckpoint::load_state(const std::map<std::string, std::string>& state) {
  const auto entry = [&](const std::string& key) -> const std::string& {
    const auto found = state.find(key);
    EMBER_CHECK(found != state.end(), "ModelCheckpoint: the checkpoint's ModelCheckpoint state has no '", key, "'");
    return found->second;
  };
  const auto count = parse_number<std::int64_t>(entry("kept"), "ModelCheckpoint: the checkpoint's kept count", 0, 1 << 20);
  kept_.clear();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::string prefix = "kept." + std::to_string(i) + ".";
    const double score = parse_number(entry(prefix + "score"), "ModelCheckpoint: the checkpoint's score",
                                      -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity());
    kept_.emplace_back(score, entry(prefix + "path"));
  }
  best_path_ = entry("best");
}

void ModelCheckpoint::save_ranked(Trainer& trainer, TrainModule& module, double score) {
  const std::filesystem::path dir(options_.dirpath);
  const bool by_recency = options_.monitor.empty();
  auto better = [&](double a, double b) { return by_recency ? a > b : ranks_above(a, b); };
  const bool full = options_.save_top_k > 0 && static_cast<int>(kept_.size()) >= options_.save_top_k;
  if (full && !better(score, kept_.back().first)) return;

  const std::string path = (dir / format_name(trainer)).string();
  trainer.save_checkpoint(path, module);
  // A name written again (the epoch's end at the step a mid-epoch save already took) is one entry.
  std::erase_if(kept_, [&](const auto& entry) { return entry.second == path; });
  kept_.emplace_back(score, path);
  std::stable_sort(kept_.begin(), kept_.end(), [&](const auto& a, const auto& b) { return better(a.first, b.first); });
  if (options_.save_top_k > 0 && static_cast<int>(kept_.size()) > options_.save_top_k) {
    // (A filename template without {epoch} may reuse a name: never delete the file just written.)
    // Every rank keeps the same list (metrics are reduced across ranks); rank 0 owns the files.
    if (kept_.back().second != path && trainer.is_global_zero()) std::filesystem::remove(kept_.back().second);
    kept_.pop_back();
  }
  best_path_ = kept_.front().second;
}

}  // namespace ember::trainer
