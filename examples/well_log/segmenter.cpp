#include "segmenter.h"

#include "collate.h"
#include "core/ember.h"
#include "metrics.h"
#include "nn/nn.h"
#include "optim/optim.h"

namespace well_log {

using ember::Tensor;

namespace {

// Curves are a few percent of the pixels: they weigh more in the cross-entropy (the Dice term
// already gives every class the same say).
std::vector<float> class_weights(Task task) {
  if (task == Task::binary) return {1.0f, 2.0f};
  return {1.0f, 1.0f, 3.0f, 1.5f, 3.0f, 6.0f};  // background, grid, solid, thick, dashed, dotted
}

}  // namespace

Segmenter::Segmenter(const SegmenterOptions& options)
    : options_(options),
      net_(register_module(
          "net", std::make_shared<ember::nn::UNet>(ember::nn::UNetOptions{
                     .in_channels = 1, .classes = class_count(options.task), .base_width = options.base_width}))) {}

Tensor Segmenter::forward(const Tensor& images) { return (*net_)(images); }

Tensor Segmenter::loss(const Tensor& logits, const Tensor& labels) const {
  const Tensor weight = ember::to(ember::from_vector(class_weights(options_.task)), logits.device());
  const Tensor cross_entropy =
      ember::nn::functional::cross_entropy(logits, labels, {.weight = weight, .ignore_index = kIgnoreIndex});
  if (options_.dice_weight == 0) return cross_entropy;
  const Tensor dice = ember::nn::functional::dice_loss(logits, labels, {.ignore_index = kIgnoreIndex});
  return cross_entropy + dice * options_.dice_weight;
}

Tensor Segmenter::training_step(const ember::data::Batch& batch, std::int64_t) {
  const Tensor loss = this->loss(forward(batch[0]), batch[1]);
  log("train_loss", loss, batch[0].size(0));
  return loss;
}

void Segmenter::evaluate(const ember::data::Batch& batch, const std::string& prefix) {
  const Tensor logits = forward(batch[0]);
  log(prefix + "_loss", loss(logits, batch[1]), batch[0].size(0));
  log_segmentation_metrics(*this, prefix, confusion_counts(logits, batch[1], class_count(options_.task)),
                           options_.task);
}

void Segmenter::validation_step(const ember::data::Batch& batch, std::int64_t) { evaluate(batch, "val"); }
void Segmenter::test_step(const ember::data::Batch& batch, std::int64_t) { evaluate(batch, "test"); }

void Segmenter::derive_epoch_metrics(ember::trainer::Metrics& metrics) const { add_mean_iou(metrics, options_.task); }

ember::trainer::OptimizerConfig Segmenter::configure_optimizers() {
  auto adamw = std::make_unique<ember::optim::AdamW>(
      parameters(), ember::optim::AdamWOptions{.lr = options_.lr, .weight_decay = options_.weight_decay});
  if (options_.total_steps == 0) return {.optimizer = std::move(adamw)};
  auto schedule = std::make_unique<ember::optim::LinearWarmupCosineLR>(
      *adamw, std::max<std::int64_t>(1, options_.total_steps / 20), options_.total_steps, options_.lr / 100);
  return {.optimizer = std::move(adamw),
          .scheduler = std::move(schedule),
          .interval = ember::trainer::OptimizerConfig::Interval::step};
}

std::string Segmenter::monitor() const { return options_.task == Task::binary ? "val_iou_curve" : "val_miou"; }

}  // namespace well_log
