#pragma once
// Segmentation metrics over the valid pixels of a batch (padding is labelled kIgnoreIndex):
// per-class IoU, pixel accuracy and, for the binary task, the curve class's precision and recall.
// Each is logged as a ratio of counts, so its epoch value is computed from the epoch's summed
// counts (over every rank), as torchmetrics does, not averaged over batches.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "dataset.h"
#include "trainer/train_module.h"

namespace well_log {

// counts[t * classes + p]: the valid pixels of true class t predicted as p (argmax of logits).
std::vector<double> confusion_counts(const ember::Tensor& logits, const ember::Tensor& labels, std::int64_t classes);

// Logs <prefix>_iou_<class> for every class, <prefix>_acc and (binary) <prefix>_precision and
// <prefix>_recall of the curve class.
void log_segmentation_metrics(ember::trainer::TrainModule& module, const std::string& prefix,
                              const std::vector<double>& counts, Task task);

// Adds <prefix>_miou, the mean of the defined per-class IoUs, wherever per-class IoUs were logged.
void add_mean_iou(ember::trainer::Metrics& metrics, Task task);

}  // namespace well_log
