#pragma once
// The MLP training step of examples/fashion_mnist, as seen by bench/mlp_vs_peer: one object
// per implementation, each running whole steps (zero_grad, forward, loss, backward, Adam) on
// the batches the driver hands it. This header names neither library, so each side compiles
// alone (LibTorch wants C++17).
#include <cstdint>
#include <memory>

constexpr std::int64_t kMlpBatch = 64;

class MlpStep {
 public:
  virtual ~MlpStep() = default;
  // One step on kMlpBatch images (784 f32 each, row-major) and their labels.
  virtual void run(const float* images, const std::int64_t* labels) = 0;
};

std::unique_ptr<MlpStep> make_ember_mlp(int threads);
#ifdef EMBER_BENCH_HAVE_TORCH
std::unique_ptr<MlpStep> make_torch_mlp(int threads);
#endif
