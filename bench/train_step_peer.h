#pragma once
// The Fashion-MNIST training step of examples/fashion_mnist, as seen by the *_vs_peer benches:
// one object per implementation and model, each running whole steps (zero_grad, forward, loss,
// backward, Adam) on the batches the driver hands it. This header names neither library, so
// each side compiles alone (LibTorch wants C++17).
#include <cstdint>
#include <memory>

constexpr std::int64_t kBenchBatch = 64;

enum class BenchModel {
  mlp,  // 784-256-128-10
  cnn,  // conv(1->32,3)-relu-maxpool2, conv(32->64,3)-relu-maxpool2, linear(1600->128)-relu, linear(128->10)
};

class TrainStep {
 public:
  virtual ~TrainStep() = default;
  // One step on kBenchBatch images (28x28 f32 each, row-major) and their labels.
  virtual void run(const float* images, const std::int64_t* labels) = 0;
};

// bf16_mixed: forward and loss under autocast to bf16 (f32 weights and optimizer), as
// `--precision bf16-mixed` trains; otherwise f32 throughout.
std::unique_ptr<TrainStep> make_ember_step(BenchModel model, int threads, bool bf16_mixed);
#ifdef EMBER_BENCH_HAVE_TORCH
std::unique_ptr<TrainStep> make_torch_step(BenchModel model, int threads, bool bf16_mixed);
#endif
