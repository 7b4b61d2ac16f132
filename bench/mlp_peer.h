#pragma once
// The MLP training step of examples/fashion_mnist, as seen by bench/mlp_vs_peer: one object
// per implementation, each running whole steps (zero_grad, forward, loss, backward, Adam) on a
// fixed random batch. The headers stay free of either library so each side compiles alone.
#include <cstdint>
#include <memory>

constexpr std::int64_t kMlpBatch = 64;

class MlpStep {
 public:
  virtual ~MlpStep() = default;
  virtual void run() = 0;
};

std::unique_ptr<MlpStep> make_ember_mlp(int threads);
#ifdef EMBER_BENCH_HAVE_TORCH
std::unique_ptr<MlpStep> make_torch_mlp(int threads);
#endif
