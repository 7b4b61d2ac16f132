#include "training_run.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "collate.h"
#include "common/run_report.h"
#include "common/training_curve.h"
#include "core/ember.h"
#include "data/data_loader.h"
#include "distributed/environment.h"
#include "hand_loop.h"
#include "predict.h"
#include "segmenter.h"
#include "trainer/csv_logger.h"
#include "trainer/early_stopping.h"
#include "trainer/learning_rate_monitor.h"
#include "trainer/model_checkpoint.h"
#include "trainer/progress_bar.h"
#include "trainer/tensorboard_logger.h"
#include "trainer/trainer.h"

namespace well_log {

namespace {

using namespace ember;

// The CPU default of each task, for the flags left at 0.
TrainSettings with_defaults(TrainSettings settings, Task task) {
  const bool binary = task == Task::binary;
  if (settings.batch_size == 0) settings.batch_size = binary ? 1 : 16;
  if (settings.instances == 0) settings.instances = binary ? 240 : 320;
  if (settings.max_epochs == 0) settings.max_epochs = 5;
  return settings;
}

struct Datasets {
  std::shared_ptr<WellLogDataset> train, val, test;
};

// Synthetic rasters (three sets from three seeds), or the train/, val/ and test/ folders of --data.
Datasets make_datasets(const TrainSettings& settings, Task task) {
  if (!settings.data.empty()) {
    return {std::make_shared<WellLogFolder>(settings.data + "/train", task),
            std::make_shared<WellLogFolder>(settings.data + "/val", task),
            std::make_shared<WellLogFolder>(settings.data + "/test", task)};
  }
  auto set = [&](std::uint64_t offset, std::int64_t count) {
    return std::make_shared<SyntheticWellLogs>(RasterSpec{.seed = settings.seed * 3 + offset, .scale = settings.scale},
                                               count, task);
  };
  return {set(0, settings.instances), set(1, settings.val_instances), set(2, settings.test_instances)};
}

std::shared_ptr<const data::BatchSampler> bucketed(const WellLogDataset& dataset, std::int64_t batch_size, bool shuffle,
                                                   std::uint64_t seed) {
  return std::make_shared<data::BucketBatchSampler>(
      dataset.widths(), data::BucketBatchSamplerOptions{.batch_size = batch_size, .shuffle = shuffle, .seed = seed});
}

// The share of the pixels of padded batches that is padding.
double padded_fraction(const data::IndexBatches& batches, const WellLogDataset& dataset, std::int64_t multiple) {
  double padded = 0, real = 0;
  for (const auto& batch : batches) {
    std::int64_t height = 0, width = 0;
    for (std::int64_t i : batch) {
      const RasterSize size = dataset.raster_size(i);
      height = std::max(height, size.height);
      width = std::max(width, size.width);
      real += static_cast<double>(size.height * size.width);
    }
    const std::int64_t rounded_h = (height + multiple - 1) / multiple * multiple;
    const std::int64_t rounded_w = (width + multiple - 1) / multiple * multiple;
    padded += static_cast<double>(batch.size()) * static_cast<double>(rounded_h * rounded_w);
  }
  return 1 - real / padded;
}

// The metrics a task is judged by, ending a line: the curve's IoU, precision and recall, or
// the mean IoU and every class's.
void print_judged_metrics(const trainer::Metrics& m, Task task, const std::string& prefix) {
  if (task == Task::binary) {
    std::printf("curve IoU %.4f (precision %.4f, recall %.4f)\n", m.at(prefix + "_iou_curve"),
                m.at(prefix + "_precision"), m.at(prefix + "_recall"));
    return;
  }
  std::printf("mean IoU %.4f (", m.at(prefix + "_miou"));
  for (std::int64_t c = 0; c < class_count(task); ++c) {
    std::printf("%s%s %.3f", c ? ", " : "", class_name(task, c), m.at(prefix + "_iou_" + class_name(task, c)));
  }
  std::printf(")\n");
}

// One line per epoch (speed, losses, the metrics the task is judged by) and the training curve.
class EpochSummary : public trainer::Callback {
 public:
  EpochSummary(Task task, std::int64_t train_size)
      : task_(task),
        train_size_(train_size),
        curve_(task == Task::binary
                   ? std::vector<std::vector<std::string>>{{"train loss", "val loss"},
                                                           {"val curve IoU", "val precision", "val recall"}}
                   : std::vector<std::vector<std::string>>{{"train loss", "val loss"},
                                                           {"val mean IoU", "val accuracy"}}) {}
  void on_train_epoch_start(trainer::Trainer&, trainer::TrainModule&) override {
    start_ = std::chrono::steady_clock::now();
  }
  void on_train_batch_end(trainer::Trainer&, trainer::TrainModule&, std::int64_t index, std::int64_t batches,
                          const Tensor&) override {
    if (index + 1 == batches)
      seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void on_train_epoch_end(trainer::Trainer& trainer, trainer::TrainModule&) override {
    if (!trainer.is_global_zero()) return;
    const trainer::Metrics& m = trainer.metrics();
    std::printf("epoch %lld: %.2f rasters/s, train loss %.4f, val loss %.4f, val ",
                static_cast<long long>(trainer.current_epoch()), static_cast<double>(train_size_) / seconds_,
                m.at("train_loss"), m.at("val_loss"));
    print_judged_metrics(m, task_, "val");
    if (task_ == Task::binary) {
      curve_.add(
          {m.at("train_loss"), m.at("val_loss"), m.at("val_iou_curve"), m.at("val_precision"), m.at("val_recall")});
    } else {
      curve_.add({m.at("train_loss"), m.at("val_loss"), m.at("val_miou"), m.at("val_acc")});
    }
    std::fflush(stdout);
  }
  const examples::TrainingCurve& curve() const { return curve_; }

 private:
  Task task_;
  std::int64_t train_size_;
  examples::TrainingCurve curve_;
  std::chrono::steady_clock::time_point start_;
  double seconds_ = 0;
};

void print_test_metrics(const trainer::Metrics& metrics, Task task, const char* what) {
  std::printf("%s: test loss %.4f, pixel accuracy %.4f, ", what, metrics.at("test_loss"), metrics.at("test_acc"));
  print_judged_metrics(metrics, task, "test");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_training(const TrainSettings& requested) {
  const Task task = parse_task(requested.task);
  const TrainSettings settings = with_defaults(requested, task);
  EMBER_CHECK(settings.loop == "trainer" || settings.loop == "hand", "--loop: expected trainer or hand, got '",
              settings.loop, "'");
  EMBER_CHECK(!settings.drifted || settings.loop == "hand",
              "--drifted: only the hand-written loop (--loop hand) drifts");
  set_num_threads(settings.threads);
  std::filesystem::create_directories(settings.out);
  const auto start = std::chrono::steady_clock::now();
  const Datasets sets = make_datasets(settings, task);

  // Training batches bucketed by width (or plainly shuffled), evaluation batches of up to 8
  // bucketed in a fixed order; every batch padded by the collate.
  const data::CollateFn collate = [](const std::vector<data::Example>& examples) { return pad_rasters(examples, 16); };
  const bool pin = settings.device == "cuda";
  data::DataLoaderOptions train_options{.num_workers = settings.workers, .collate = collate, .pin_memory = pin};
  if (settings.bucketing) {
    train_options.batch_sampler = bucketed(*sets.train, settings.batch_size, true, settings.seed);
  } else {
    train_options.batch_size = settings.batch_size;
    train_options.shuffle = true;
    train_options.seed = settings.seed;
  }
  data::DataLoader train(sets.train, train_options);
  const std::int64_t eval_batch = std::max<std::int64_t>(settings.batch_size, 8);
  auto evaluation_loader = [&](const std::shared_ptr<WellLogDataset>& dataset) {
    return std::make_unique<data::DataLoader>(
        dataset, data::DataLoaderOptions{.num_workers = settings.workers,
                                         .collate = collate,
                                         .pin_memory = pin,
                                         .batch_sampler = bucketed(*dataset, eval_batch, false, 0)});
  };
  const auto val = evaluation_loader(sets.val);
  const auto test = evaluation_loader(sets.test);
  const data::ChunkBatchSampler unbucketed(std::make_shared<data::RandomSampler>(settings.seed), settings.batch_size);
  std::printf(
      "well_log %s: %lld training rasters (batch %lld, %lld batches per epoch), %lld validation, %lld test; "
      "padding: %.1f%% of the pixels with bucketing, %.1f%% without\n",
      settings.task.c_str(), static_cast<long long>(sets.train->size()), static_cast<long long>(settings.batch_size),
      static_cast<long long>(train.size()), static_cast<long long>(sets.val->size()),
      static_cast<long long>(sets.test->size()),
      100 * padded_fraction(
                bucketed(*sets.train, settings.batch_size, true, settings.seed)->batches(sets.train->size(), 0),
                *sets.train, 16),
      100 * padded_fraction(unbucketed.batches(sets.train->size(), 0), *sets.train, 16));

  // The schedule spans the run's optimizer steps: with a distributed strategy each rank steps
  // through its share of the batches (data::DistributedBatchSampler, padded to equal shares).
  const std::int64_t ranks =
      settings.strategy == "single" ? 1 : distributed::read_world_from_environment().world_size;
  manual_seed(settings.seed);
  Segmenter model({.task = task,
                   .base_width = settings.base_width,
                   .lr = settings.lr,
                   .total_steps = settings.max_epochs * ((train.size() + ranks - 1) / ranks)});
  const std::string monitor = model.monitor();

  if (settings.loop == "hand") {
    std::printf("training with the hand-written loop%s\n", settings.drifted ? " in the drifted order" : "");
    const std::vector<double> losses =
        train_by_hand(model, train, {.epochs = settings.max_epochs, .drifted = settings.drifted});
    for (std::size_t epoch = 0; epoch < losses.size(); ++epoch) {
      std::printf("epoch %zu: train loss %.4f\n", epoch, losses[epoch]);
    }
    trainer::Trainer evaluator;
    const trainer::Metrics validation = evaluator.validate(model, *val);
    std::printf("after %lld epochs (%.0f s): %s %.4f\n", static_cast<long long>(settings.max_epochs),
                seconds_since(start), monitor.c_str(), validation.at(monitor));
    print_test_metrics(evaluator.test(model, *test), task, "hand-written loop");
    return 0;
  }

  auto summary = std::make_shared<EpochSummary>(task, sets.train->size());
  auto checkpoints = std::make_shared<trainer::ModelCheckpoint>(
      trainer::ModelCheckpointOptions{.filename = "epoch={epoch}-" + monitor + "={" + monitor + ":.4f}",
                                      .monitor = monitor,
                                      .mode = trainer::ModelCheckpointOptions::Mode::max,
                                      .save_top_k = 1,
                                      .save_last = true});
  auto report = std::make_shared<examples::RunReport>(monitor, true, settings.batch_size);
  std::vector<std::shared_ptr<trainer::Callback>> callbacks{std::make_shared<trainer::ProgressBar>()};
  if (settings.patience > 0) {
    callbacks.push_back(std::make_shared<trainer::EarlyStopping>(trainer::EarlyStoppingOptions{
        .monitor = monitor, .mode = trainer::EarlyStoppingOptions::Mode::max, .patience = settings.patience}));
  }
  callbacks.insert(callbacks.end(),
           {checkpoints,
            std::make_shared<trainer::CSVLogger>(
                settings.out, std::map<std::string, std::string>{{"task", settings.task},
                                                                 {"batch_size", std::to_string(settings.batch_size)},
                                                                 {"instances", std::to_string(sets.train->size())},
                                                                 {"scale", std::to_string(settings.scale)},
                                                                 {"base_width", std::to_string(settings.base_width)},
                                                                 {"lr", std::to_string(settings.lr)},
                                                                 {"seed", std::to_string(settings.seed)}}),
            std::make_shared<trainer::TensorBoardLogger>(settings.out + "/tensorboard"),
            std::make_shared<trainer::LearningRateMonitor>(), summary, report});
  trainer::Trainer trainer({.max_epochs = settings.max_epochs,
                            .seed = settings.seed,
                            // Checkpoints (the preemption one too) go to <out>/checkpoints.
                            .default_root_dir = settings.out,
                            .callbacks = callbacks,
                            .precision = settings.precision,
                            .accelerator = settings.device,
                            .strategy = settings.strategy,
                            .evaluation_no_grad = settings.eval_no_grad});
  trainer.fit(model, train, val.get(), settings.resume);

  // The best checkpoint by the monitored metric, on the held-out test set.
  model.load_state_dict(trainer::checkpoint_weights(checkpoints->best_model_path()));
  const trainer::Metrics tested = trainer.test(model, *test);
  const std::string judged = "test_" + monitor.substr(std::string("val_").size());  // test_iou_curve, test_miou
  report->write(settings.out, {{judged, tested.at(judged)}});
  if (!trainer.is_global_zero()) return 0;
  print_test_metrics(tested, task, ("best checkpoint " + checkpoints->best_model_path()).c_str());
  const std::string previews = settings.out + "/previews";
  std::filesystem::create_directories(previews);
  write_previews(model.net(), *sets.val, task, settings.previews, previews, trainer.device());
  std::printf("%s\npreviews (prediction above, truth below): %s\ntotal time %.0f s\n",
              summary->curve().plot(settings.out).c_str(), previews.c_str(), seconds_since(start));
  return 0;
}

}  // namespace well_log
