#pragma once
// The well-log segmenter as a TrainModule: a U-Net trained on cross-entropy (class weights,
// padding ignored) plus soft Dice, AdamW with linear warmup and cosine decay per step, and
// segmentation metrics over the valid pixels for validation and test.
#include <memory>
#include <string>

#include "dataset.h"
#include "nn/unet.h"
#include "trainer/train_module.h"

namespace well_log {

struct SegmenterOptions {
  Task task = Task::binary;
  std::int64_t base_width = 16;
  double lr = 3e-3;
  double weight_decay = 1e-4;
  double dice_weight = 1.0;      // loss = cross_entropy + dice_weight * dice_loss
  std::int64_t total_steps = 0;  // optimizer steps of the whole run (for the schedule); 0: constant lr
};

class Segmenter : public ember::trainer::TrainModule {
 public:
  explicit Segmenter(const SegmenterOptions& options);
  ember::Tensor forward(const ember::Tensor& images) override;
  std::string type_name() const override { return "Segmenter"; }

  // The training loss of logits [N, C, H, W] against labels [N, H, W].
  ember::Tensor loss(const ember::Tensor& logits, const ember::Tensor& labels) const;
  ember::Tensor training_step(const ember::data::Batch& batch, std::int64_t batch_index) override;
  void validation_step(const ember::data::Batch& batch, std::int64_t batch_index) override;
  void test_step(const ember::data::Batch& batch, std::int64_t batch_index) override;
  void derive_epoch_metrics(ember::trainer::Metrics& metrics) const override;
  ember::trainer::OptimizerConfig configure_optimizers() override;

  const SegmenterOptions& options() const { return options_; }
  ember::nn::UNet& net() { return *net_; }
  // The metric a run is judged by: val_iou_curve (binary) or val_miou (multiclass).
  std::string monitor() const;

 private:
  void evaluate(const ember::data::Batch& batch, const std::string& prefix);

  SegmenterOptions options_;
  std::shared_ptr<ember::nn::UNet> net_;
};

}  // namespace well_log
