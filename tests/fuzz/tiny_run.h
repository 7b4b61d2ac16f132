#pragma once
// The small training run whose checkpoints seed the checkpoint fuzzer: a linear model, Adam with
// amsgrad, StepLR and ReduceLROnPlateau, "16-mixed" (so the GradScaler has state) and
// EarlyStopping, over 4 samples in 2 batches: every piece of state a resume reads.
#include <cstdint>
#include <string>

namespace ember::fuzz {

// Trains to max_epochs, resuming from `checkpoint` when it is not empty, and saves the final state
// to `save_to` when that is not empty. Logs go under `root`.
void run_tiny(const std::string& checkpoint, const std::string& root, std::int64_t max_epochs,
              const std::string& save_to = "");

}  // namespace ember::fuzz
