// well_log: U-Net segmentation of scanned well-log rasters, from synthetic data or PNG files.
//
//   well_log train --task binary|multiclass [flags]        train (the CPU default with no other flags)
//   well_log predict --checkpoint CKPT --input PNG --out DIR  the mask and an overlay of one raster
//   well_log generate --out DIR [--instances N] [--scale S]   synthetic rasters as PNG files
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/ember.h"
#include "predict.h"
#include "trainer/preemption.h"
#include "training_run.h"

namespace {

using namespace well_log;

void add_train_flags(CLI::App& train, TrainSettings& s) {
  train.add_option("--task", s.task, "binary (curve vs the rest) or multiclass (background, grid, 4 curve types)")
      ->required()
      ->check(CLI::IsMember({"binary", "multiclass"}));
  train.add_option("--batch-size", s.batch_size, "rasters per batch (default: binary 1, multiclass 16)");
  train.add_option("--instances", s.instances, "training rasters (default: binary 240, multiclass 320)");
  train.add_option("--max-epochs", s.max_epochs, "epochs at most (default: 5)");
  train.add_option("--val-instances", s.val_instances, "validation rasters")->capture_default_str();
  train.add_option("--test-instances", s.test_instances, "held-out test rasters")->capture_default_str();
  train.add_option("--scale", s.scale, "raster size: 1 is full scale (3,200-12,800 x 480-640)")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 1.0));
  train.add_option("--data", s.data, "train from DIR/train, DIR/val and DIR/test (PNG folders, see generate)");
  train.add_option("--out", s.out, "where checkpoints, logs, previews and the curve go")->capture_default_str();
  train.add_option("--device", s.device, "cpu or cuda")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  train.add_option("--precision", s.precision, "32, 16-mixed or bf16-mixed")->capture_default_str();
  train.add_option("--strategy", s.strategy, "single, ddp, zero1 or zero2 (under ember-run)")->capture_default_str();
  train.add_option("--workers", s.workers, "DataLoader worker threads")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  train.add_option("--threads", s.threads, "compute threads")->capture_default_str()->check(CLI::PositiveNumber);
  train.add_option("--base-width", s.base_width, "U-Net width of the first level")->capture_default_str();
  train.add_option("--lr", s.lr, "AdamW's peak learning rate")->capture_default_str();
  train.add_option("--seed", s.seed, "seeds the data, the weights and the order")->capture_default_str();
  train.add_option("--bucketing", s.bucketing, "batch rasters of similar width (1) or at random (0)")
      ->capture_default_str();
  train.add_option("--patience", s.patience, "epochs without improvement before stopping early (0: never)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  train.add_option("--eval-no-grad", s.eval_no_grad, "validate and test without recording the autograd graph (0: "
                   "record it, to measure what no_grad saves)")->capture_default_str();
  train.add_option("--previews", s.previews, "validation rasters drawn with their prediction")->capture_default_str();
  train.add_option("--loop", s.loop, "trainer, or hand: the hand-written loop")
      ->capture_default_str()
      ->check(CLI::IsMember({"trainer", "hand"}));
  train.add_flag("--drifted", s.drifted,
                 "the hand-written loop in its drifted order (gradients zeroed once per epoch)");
  train.add_option("--resume", s.resume, "continue from this checkpoint");
}

struct PredictSettings {
  std::string checkpoint, input, out = "well_log_prediction", device = "cpu";
};

int run_prediction(const PredictSettings& settings) {
  const auto net = load_unet(settings.checkpoint);
  const Task task = net->options().classes == 2 ? Task::binary : Task::multiclass;
  const ember::Device device = settings.device == "cuda" ? ember::Device::cuda(0) : ember::Device::cpu();
  net->to(device);
  const Image grey = read_png(settings.input, 1);
  const std::vector<std::uint8_t> classes = predict_classes(*net, grey, device);
  std::filesystem::create_directories(settings.out);
  const std::string stem = std::filesystem::path(settings.input).stem().string();
  const std::string mask = settings.out + "/" + stem + "_mask.png",
                    picture = settings.out + "/" + stem + "_overlay.png";
  write_png(mask, {grey.height, grey.width, 1, classes});
  write_png(picture, overlay(grey, classes, task));
  std::printf("%s: %lld x %lld, %s task; mask (class per pixel): %s; overlay: %s\n", settings.input.c_str(),
              static_cast<long long>(grey.height), static_cast<long long>(grey.width),
              task == Task::binary ? "binary" : "multiclass", mask.c_str(), picture.c_str());
  return 0;
}

struct GenerateSettings {
  std::string out;
  std::int64_t instances = 240, val_instances = 32, test_instances = 64;
  double scale = 1.0 / 8;
  std::uint64_t seed = 0;
};

// The same three sets `train` draws from the seed, as train/, val/ and test/ folders of PNGs.
int run_generation(const GenerateSettings& s) {
  const std::pair<const char*, std::int64_t> sets[] = {
      {"train", s.instances}, {"val", s.val_instances}, {"test", s.test_instances}};
  for (std::uint64_t k = 0; k < 3; ++k) {
    write_rasters({.seed = s.seed * 3 + k, .scale = s.scale}, sets[k].second, s.out + "/" + sets[k].first);
    std::printf("%s/%s: %lld rasters\n", s.out.c_str(), sets[k].first, static_cast<long long>(sets[k].second));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"well_log: U-Net segmentation of scanned well-log rasters"};
  app.require_subcommand(1);
  TrainSettings train;
  add_train_flags(*app.add_subcommand("train", "train the segmenter (Trainer or hand-written loop)"), train);
  PredictSettings predict;
  CLI::App& predicting = *app.add_subcommand("predict", "segment one PNG raster of any size with a checkpoint");
  predicting.add_option("--checkpoint", predict.checkpoint, "a checkpoint written by train")->required();
  predicting.add_option("--input", predict.input, "a grey or colour PNG")->required();
  predicting.add_option("--out", predict.out, "where the mask and the overlay go")->capture_default_str();
  predicting.add_option("--device", predict.device, "cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  GenerateSettings generate;
  CLI::App& generating = *app.add_subcommand("generate", "write the synthetic rasters train uses as PNG files");
  generating.add_option("--out", generate.out, "the folder (train/, val/, test/ go inside)")->required();
  generating.add_option("--instances", generate.instances, "training rasters")->capture_default_str();
  generating.add_option("--val-instances", generate.val_instances, "validation rasters")->capture_default_str();
  generating.add_option("--test-instances", generate.test_instances, "test rasters")->capture_default_str();
  generating.add_option("--scale", generate.scale, "raster size: 1 is full scale")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 1.0));
  generating.add_option("--seed", generate.seed, "as train's --seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (app.got_subcommand("train")) return run_training(train);
    if (app.got_subcommand("predict")) return run_prediction(predict);
    return run_generation(generate);
  } catch (const ember::trainer::Preempted& preempted) {  // SIGTERM / SIGINT: saved, resumable
    std::cerr << "well_log: " << preempted.what() << " (train --resume " << preempted.checkpoint() << ")\n";
    return ember::trainer::kPreemptedExitCode;
  } catch (const std::exception& error) {
    std::cerr << "well_log: " << error.what() << '\n';
    return 2;
  }
}
