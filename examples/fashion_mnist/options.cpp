#include "options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

namespace {

// A whole number from `minimum` up (CLI11's PositiveNumber prints its range as a 300-digit double).
CLI::Range at_least(int minimum) { return CLI::Range(minimum, 1 << 30); }

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  CLI::App app{"Trains the Fashion-MNIST CNN (or MLP) with ember's Trainer", "fashion_mnist"};
  app.add_option("--max-epochs,--epochs", o.max_epochs, "epochs at most (early stopping on val_loss may end sooner)")
      ->check(at_least(1))->capture_default_str();
  app.add_option("--limit-train-batches", o.limit_train_batches, "training batches per epoch (-1: all)")
      ->check(at_least(-1))->capture_default_str();
  app.add_option("--limit-val-batches", o.limit_val_batches, "validation batches per epoch (-1: all)")
      ->check(at_least(-1))->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "examples per step (per process under ddp/zero)")
      ->check(at_least(1))->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the split, the initialization, shuffling and augmentation")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "ember's compute threads")->check(at_least(1))->capture_default_str();
  app.add_option("--workers", o.workers, "data loader worker threads (0: load on the training thread)")
      ->check(at_least(0))->capture_default_str();
  app.add_option("--data", o.data, "folder of the Fashion-MNIST IDX files")->capture_default_str();
  app.add_option("--model", o.model, "the network")->check(CLI::IsMember({"cnn", "mlp"}))->capture_default_str();
  app.add_option("--out", o.out, "folder for checkpoints, logs and the training curve")->capture_default_str();
  app.add_option("--resume", o.resume, "a checkpoint to continue from (e.g. <out>/checkpoints/last.safetensors)");
  app.add_option("--patience", o.patience, "epochs without a lower val_loss before stopping early (0: never)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--checkpoint-every", o.checkpoint_every, "also write last.safetensors every N optimizer steps, "
                 "resumable mid-epoch (0: at epoch ends only)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--augment", o.augment, "random crop (padding 2) and horizontal flip of the training images (0 or 1)")
      ->capture_default_str();
  app.add_option("--epoch-test", o.epoch_test, "test accuracy after every epoch, for the training curve (0 or 1)")
      ->capture_default_str();
  app.add_option("--eval-no-grad", o.eval_no_grad, "validate and test without recording the autograd graph (0: "
                 "record it, to measure what no_grad saves)")->capture_default_str();
  app.add_option("--device", o.device, "the Trainer's accelerator")->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--precision", o.precision, "32, 16-mixed or bf16-mixed")
      ->check(CLI::IsMember({"32", "16-mixed", "bf16-mixed"}))->capture_default_str();
  app.add_option("--strategy", o.strategy, "single, or ddp, zero1, zero2 under ember-run --nproc N")
      ->check(CLI::IsMember({"single", "ddp", "zero1", "zero2"}))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error));  // --help: the usage on stdout and 0; a bad flag: its error and 1
  }
  return o;
}
