#pragma once
// The training loop the well-log team wrote by hand before moving to the Trainer, kept to tell
// the story. In the canonical order (docs/design.md) it ends with the Trainer's weights bit for bit.
// Its drifted version is the bug the move exposed: in one configuration's copy of the loop a
// refactor had slid the gradient zeroing out of the batch loop, to the start of each epoch:
//   canonical, per batch:   zero_grad   forward + loss   backward   step
//   drifted:                zero_grad once per epoch, then per batch: forward + loss   backward   step
// Gradients then pile up: each step applies the sum of every gradient since the epoch began.
// Adam's normalised step hides it; the loss still falls. (Moving the step before backward, the
// other drift one might imagine, is not silent: backward finds the weights it saved changed in
// place and raises an error, in ember as in PyTorch.)
#include <cstdint>
#include <vector>

#include "data/data_loader.h"
#include "segmenter.h"

namespace well_log {

struct HandLoopOptions {
  std::int64_t epochs = 1;
  bool drifted = false;
};

// Trains `model` on `train` for options.epochs epochs with the optimizer and schedule of its
// configure_optimizers; returns each epoch's mean training loss (by batch).
std::vector<double> train_by_hand(Segmenter& model, ember::data::DataLoader& train, const HandLoopOptions& options);

}  // namespace well_log
