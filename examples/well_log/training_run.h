#pragma once
// `well_log train`: the whole run, through the Trainer (or, to tell the migration story, the
// hand-written loop).
#include <cstdint>
#include <string>

namespace well_log {

struct TrainSettings {
  std::string task = "binary";  // binary or multiclass
  // 0: the task's CPU default: binary batch 1 and 240 rasters, multiclass batch 16 and 320
  // rasters (20 steps an epoch), both 5 epochs.
  std::int64_t batch_size = 0, instances = 0, max_epochs = 0;
  std::int64_t val_instances = 32, test_instances = 64;
  double scale = 1.0 / 8;
  std::string data;  // a folder with train/, val/ and test/ in WellLogFolder's layout, instead of synthetic rasters
  std::string out = "well_log_run";
  std::string device = "cpu", precision = "32", strategy = "single";
  int workers = 2, threads = 2;
  std::int64_t base_width = 16;
  double lr = 3e-3;
  std::uint64_t seed = 0;
  bool bucketing = true;
  std::int64_t patience = 4;     // EarlyStopping on the monitored metric (0: no early stopping)
  bool eval_no_grad = true;      // validation and test without recording the autograd graph
  std::int64_t previews = 4;     // validation rasters drawn with their prediction at the end
  std::string loop = "trainer";  // trainer, or hand: the hand-written loop (hand_loop.h)
  bool drifted = false;          // the hand loop in the drifted order (zero_grad once per epoch)
  std::string resume;            // a checkpoint to continue from (Trainer only)
};

int run_training(const TrainSettings& settings);

}  // namespace well_log
