#pragma once
// What the Trainer does when a training loss is NaN or infinite: the run has diverged (or a batch
// is broken), and every step after it would learn from garbage. Lightning's detect_anomaly stops
// there; ember stops by default, naming the step, the batch and the value.
#include <cstdint>

#include "core/tensor.h"

namespace ember::trainer {

enum class NonfiniteLoss {
  error,   // stop: fit throws an ember::Error naming the step, the batch and the value
  skip,    // learn nothing from that batch (no backward; a window of only such batches takes no step)
  ignore,  // train on, as PyTorch does without anomaly detection
};

// Watches one fit's training losses. Under "16-mixed" the GradScaler already skips the step of a
// non-finite gradient, so the Trainer does not use one there.
class NonfiniteLossWatch {
 public:
  explicit NonfiniteLossWatch(NonfiniteLoss action) : action_(action) {}

  // Called with each batch's loss before its backward; returns whether to skip the batch.
  // `error` records the first non-finite loss on the loss's device without reading it (a training
  // step on a GPU stays free of host synchronization) and check() judges the record; `skip` must
  // read each loss: one synchronization per step on a GPU, as in "16-mixed".
  bool skips(const Tensor& loss, std::int64_t epoch, std::int64_t batch, std::int64_t step);
  // The Error for a non-finite loss recorded so far (the Trainer checks at each validation and at
  // each epoch's end).
  void check();

 private:
  NonfiniteLoss action_;
  Tensor record_;  // [step, epoch, batch, loss] of the first non-finite loss; step -1 while none
};

}  // namespace ember::trainer
