#include "metrics.h"

#include <cmath>

#include "collate.h"
#include "core/ember.h"

namespace well_log {

using ember::Tensor;

std::vector<double> confusion_counts(const Tensor& logits, const Tensor& labels, std::int64_t classes) {
  ember::NoGradGuard no_grad;
  const ember::TensorOptions on_device{.dtype = ember::DType::i64, .device = labels.device()};
  const Tensor predicted = ember::argmax(logits, 1);
  const Tensor counted = ember::ne(labels, ember::scalar_tensor(static_cast<double>(kIgnoreIndex), on_device));
  // Cell t * classes + p of the matrix for each counted pixel, one extra cell for the rest.
  const Tensor cells = ember::where(counted, labels * static_cast<double>(classes) + predicted,
                                    ember::scalar_tensor(static_cast<double>(classes * classes), on_device))
                           .flatten();
  const ember::TensorOptions f64{.dtype = ember::DType::f64, .device = labels.device()};
  const Tensor counts =
      ember::scatter_add(ember::zeros({classes * classes + 1}, f64), 0, cells, ember::ones(cells.sizes(), f64));
  std::vector<double> matrix = counts.to(ember::Device::cpu()).to_vector<double>();
  matrix.pop_back();
  return matrix;
}

void log_segmentation_metrics(ember::trainer::TrainModule& module, const std::string& prefix,
                              const std::vector<double>& counts, Task task) {
  const std::int64_t classes = class_count(task);
  auto at = [&](std::int64_t truth, std::int64_t predicted) {
    return counts[static_cast<std::size_t>(truth * classes + predicted)];
  };
  double correct = 0, total = 0;
  for (std::int64_t c = 0; c < classes; ++c) {
    double truly = 0, predicted = 0;
    for (std::int64_t other = 0; other < classes; ++other) {
      truly += at(c, other);
      predicted += at(other, c);
    }
    const double hits = at(c, c);
    module.log_ratio(prefix + "_iou_" + class_name(task, c), hits, truly + predicted - hits);
    if (task == Task::binary && c == 1) {
      module.log_ratio(prefix + "_precision", hits, predicted);
      module.log_ratio(prefix + "_recall", hits, truly);
    }
    correct += hits;
    total += truly;
  }
  module.log_ratio(prefix + "_acc", correct, total);
}

void add_mean_iou(ember::trainer::Metrics& metrics, Task task) {
  for (const char* prefix : {"train", "val", "test"}) {
    double sum = 0;
    int defined = 0;
    for (std::int64_t c = 0; c < class_count(task); ++c) {
      const auto found = metrics.find(std::string(prefix) + "_iou_" + class_name(task, c));
      if (found == metrics.end() || std::isnan(found->second)) continue;
      sum += found->second;
      ++defined;
    }
    if (defined > 0) metrics[std::string(prefix) + "_miou"] = sum / defined;
  }
}

}  // namespace well_log
