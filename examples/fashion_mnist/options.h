#pragma once
// Command-line flags of the Fashion-MNIST example.
#include <cstdint>
#include <string>

struct Options {
  int max_epochs = 15;  // early stopping on val_loss usually ends the run before this
  std::int64_t limit_train_batches = -1;  // -1: every batch (Lightning's limit_train_batches)
  std::int64_t limit_val_batches = -1;
  std::int64_t batch_size = 64;
  std::uint64_t seed = 0;
  int threads = 2;
  int workers = 2;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string model = "cnn";  // mlp or cnn
  std::string out = "fashion_mnist_run";
  std::string resume;  // a checkpoint to continue from
  std::int64_t patience = 3;  // epochs without a lower val_loss before stopping early (0: never)
  std::int64_t checkpoint_every = 0;  // also write last.safetensors every N optimizer steps (0: at epoch ends only)
  bool augment = true;  // random crop (padding 2) + horizontal flip of the training images
  bool epoch_test = true;  // test accuracy after every epoch too (the curve's test line)
  bool eval_no_grad = true;  // validation and test without recording the autograd graph
  std::string device = "cpu";     // cpu or cuda: the Trainer's accelerator
  std::string precision = "32";   // 32, 16-mixed or bf16-mixed
  // single, ddp, zero1 or zero2; run the distributed ones under ember-run --nproc N, where each
  // process trains on batch_size examples per step (as in Lightning).
  std::string strategy = "single";
};

// The command line (CLI11; `fashion_mnist --help` lists every flag). --help prints the usage and
// exits 0; a bad flag or value exits 1 with a message naming it. `--flag value` and
// `--flag=value` both work.
Options parse_options(int argc, char** argv);
