#pragma once
// The well-log U-Net's training step as the unet_vs_peer bench sees it: one object per library,
// each running whole steps (zero_grad, forward, cross-entropy with class weights and ignored
// padding plus soft Dice, backward, AdamW) on the batch the driver hands it. This header names
// neither library, so each side compiles alone (LibTorch wants C++17).
#include <cstdint>
#include <memory>

struct UNetStepShape {
  std::int64_t batch, height, width, classes;
  std::int64_t base_width = 16;
};

class UNetStep {
 public:
  virtual ~UNetStep() = default;
  // One step on images [batch, 1, height, width] (f32) and labels [batch, height, width] (i64,
  // -100 on padding).
  virtual void run(const float* images, const std::int64_t* labels) = 0;
};

std::unique_ptr<UNetStep> make_ember_unet_step(const UNetStepShape& shape, int threads);
#ifdef EMBER_BENCH_HAVE_TORCH
std::unique_ptr<UNetStep> make_torch_unet_step(const UNetStepShape& shape, int threads);
#endif
