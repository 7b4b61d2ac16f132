// The well-log example's training: metrics from counts, the migration from the hand-written
// loop to the Trainer (bit-identical weights; the drifted order is not), and prediction from a
// checkpoint.
#include <cmath>
#include <filesystem>

#include "collate.h"
#include "distributed/temporary_directory.h"
#include "hand_loop.h"
#include "helpers.h"
#include "metrics.h"
#include "predict.h"
#include "segmenter.h"
#include "trainer/model_checkpoint.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;
using namespace well_log;

TEST_CASE("confusion counts skip padding, and the metrics come from the epoch's summed counts") {
  // 2 classes, 5 pixels: logits favour classes 1, 0, 1, 1, 0; truth 1, 0, 0, ignored, 1.
  const Tensor logits = from_vector<float>({0, 1, 0, 0, 1,   // class 0
                                            1, 0, 1, 1, 0},  // class 1
                                           {1, 2, 5});
  const Tensor labels = from_vector<std::int64_t>({1, 0, 0, kIgnoreIndex, 1}, {1, 5});
  // counts[truth * 2 + predicted]: (0,0) pixel 1; (0,1) pixel 2; (1,1) pixel 0; (1,0) pixel 4.
  CHECK(confusion_counts(logits, labels, 2) == std::vector<double>{1, 1, 1, 1});

  Segmenter module({.task = Task::binary, .base_width = 2});
  log_segmentation_metrics(module, "val", {1, 1, 1, 1}, Task::binary);
  log_segmentation_metrics(module, "val", {6, 0, 2, 3}, Task::binary);  // a second batch
  trainer::Metrics metrics = module.take_epoch_metrics();
  // Summed: background 7 right, 1 wrong; curve 4 right, 3 missed, 1 false positive.
  CHECK(metrics.at("val_iou_curve") == doctest::Approx(4.0 / (4 + 3 + 1)));
  CHECK(metrics.at("val_iou_background") == doctest::Approx(7.0 / (7 + 1 + 3)));
  CHECK(metrics.at("val_precision") == doctest::Approx(4.0 / 5));
  CHECK(metrics.at("val_recall") == doctest::Approx(4.0 / 7));
  CHECK(metrics.at("val_acc") == doctest::Approx(11.0 / 15));
  // derive_epoch_metrics added the mean IoU of the two classes.
  CHECK(metrics.at("val_miou") == doctest::Approx((0.5 + 7.0 / 11) / 2));
}

namespace {

// Tiny rasters (64-256 x 32 pixels) and a narrow U-Net: the migration story in a second.
std::shared_ptr<SyntheticWellLogs> tiny_rasters(std::int64_t count) {
  return std::make_shared<SyntheticWellLogs>(RasterSpec{.seed = 11, .scale = 0.02}, count, Task::multiclass);
}

data::DataLoaderOptions tiny_loading(const std::shared_ptr<SyntheticWellLogs>& rasters) {
  return {.collate = [](const std::vector<data::Example>& examples) { return pad_rasters(examples); },
          .batch_sampler = std::make_shared<data::BucketBatchSampler>(
              rasters->widths(), data::BucketBatchSamplerOptions{.batch_size = 2, .seed = 4})};
}

constexpr std::int64_t kEpochs = 3;

std::unique_ptr<Segmenter> tiny_segmenter(std::int64_t steps) {
  manual_seed(21);  // every model starts from the same weights
  return std::make_unique<Segmenter>(
      SegmenterOptions{.task = Task::multiclass, .base_width = 4, .lr = 1e-2, .total_steps = steps});
}

std::vector<std::vector<float>> weights(const nn::Module& module) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, tensor] : module.state_dict()) out.push_back(tensor.to(DType::f32).to_vector<float>());
  return out;
}

}  // namespace

TEST_CASE("the Trainer and the canonical hand-written loop give bit-identical weights; the drifted loop does not") {
  const auto rasters = tiny_rasters(6);  // 3 batches of 2 per epoch
  const std::int64_t steps = kEpochs * 3;

  auto by_trainer = tiny_segmenter(steps);
  data::DataLoader trainer_loader(rasters, tiny_loading(rasters));
  trainer::Trainer({.max_epochs = kEpochs, .seed = 0}).fit(*by_trainer, trainer_loader);

  auto by_hand = tiny_segmenter(steps);
  data::DataLoader hand_loader(rasters, tiny_loading(rasters));
  const std::vector<double> canonical_losses = train_by_hand(*by_hand, hand_loader, {.epochs = kEpochs});

  auto drifted = tiny_segmenter(steps);
  data::DataLoader drifted_loader(rasters, tiny_loading(rasters));
  const std::vector<double> drifted_losses =
      train_by_hand(*drifted, drifted_loader, {.epochs = kEpochs, .drifted = true});

  // Every weight and BatchNorm statistic, bit for bit (the same kernels in the same order).
  CHECK(weights(*by_trainer) == weights(*by_hand));
  // The drifted order trains too, and its loss falls, as the team saw; but it is another run.
  CHECK(weights(*drifted) != weights(*by_hand));
  CHECK(drifted_losses.back() < drifted_losses.front());
  CHECK(canonical_losses.back() < canonical_losses.front());
}

TEST_CASE("predict: a checkpoint's U-Net comes back with its architecture and segments a raster of any size") {
  const distributed::TemporaryDirectory dir("ember-well-log-predict");
  const auto rasters = tiny_rasters(2);
  auto model = tiny_segmenter(0);
  data::DataLoader loader(rasters, tiny_loading(rasters));
  auto checkpoints = std::make_shared<trainer::ModelCheckpoint>(
      trainer::ModelCheckpointOptions{.dirpath = dir.path(), .save_top_k = 0, .save_last = true});
  trainer::Trainer({.max_epochs = 1, .callbacks = {checkpoints}}).fit(*model, loader);

  const auto net = load_unet(dir.path() + "/last.safetensors");
  CHECK(net->options().classes == kClasses);
  CHECK(net->options().base_width == 4);
  CHECK(net->options().depth == 4);
  // 37 x 83 is no multiple of 16: padded for the net, cropped back to the input's size.
  Image grey{37, 83, 1, std::vector<std::uint8_t>(37 * 83, 230)};
  for (std::size_t i = 0; i < grey.pixels.size(); i += 7) grey.pixels[i] = 20;
  const std::vector<std::uint8_t> loaded = predict_classes(*net, grey, Device::cpu());
  CHECK(loaded.size() == grey.pixels.size());
  CHECK(loaded == predict_classes(model->net(), grey, Device::cpu()));
  CHECK(std::all_of(loaded.begin(), loaded.end(), [](std::uint8_t c) { return c < kClasses; }));
  const Image picture = overlay(grey, loaded, Task::multiclass);
  CHECK((picture.height == 37 && picture.width == 83 && picture.channels == 3));
  CHECK(contains(error_of([&] { load_unet(dir.path() + "/missing.safetensors"); }), "missing.safetensors"));
}
